/** A bench worker process of the mysql-locking design (bench/wiring.ts). */
import { runEntryPoint } from "@oms/shared";
import { runWorkerProcess } from "@oms/workers";
import { DESIGN_WIRING } from "../wiring";

runEntryPoint("workers", () => runWorkerProcess(DESIGN_WIRING["mysql-locking"].workers));
