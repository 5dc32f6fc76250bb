/** A bench API process of a design with wiring of its own (bench/wiring.ts), named by BENCH_DESIGN. */
import { runEntryPoint } from "@oms/shared";
import { runApiProcess } from "@oms/api";
import { DesignId } from "../types";
import { DESIGN_WIRING } from "../wiring";

runEntryPoint("API", () => runApiProcess(DESIGN_WIRING[DesignId.parse(process.env.BENCH_DESIGN)].api));
