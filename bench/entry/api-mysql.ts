/** A bench API process for the MySQL-only designs: no cached levels, so no sold-out fast path (bench/wiring.ts). */
import { runEntryPoint } from "@oms/shared";
import { runApiProcess } from "@oms/api";
import { API_WITHOUT_CACHE } from "../wiring";

runEntryPoint("API", () => runApiProcess(API_WITHOUT_CACHE));
