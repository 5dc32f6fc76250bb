import { runEntryPoint } from "@oms/shared";
import { runWorkerProcess } from "./run-process";

// Production's wiring: stock reserved in Redis, no checkpoint hook.
runEntryPoint("workers", () => runWorkerProcess());
