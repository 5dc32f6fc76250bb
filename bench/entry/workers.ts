/** A bench worker process of a design with wiring of its own (bench/wiring.ts), named by BENCH_DESIGN. */
import { runEntryPoint } from "@oms/shared";
import { runWorkerProcess } from "@oms/workers";
import { DesignId } from "../types";
import { DESIGN_WIRING } from "../wiring";

runEntryPoint("workers", () => runWorkerProcess(DESIGN_WIRING[DesignId.parse(process.env.BENCH_DESIGN)].workers));
