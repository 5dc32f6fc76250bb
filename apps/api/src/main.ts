import { runEntryPoint } from "@oms/shared";
import { runApiProcess } from "./run-process";

// Production's wiring: results on this process's reply key, the sold-out fast path on.
runEntryPoint("API", () => runApiProcess());
