import { loadBaseConfig } from "@oms/shared";
import { prepareDatabase } from "@oms/migrations";

const config = loadBaseConfig();
const applied = await prepareDatabase(config.DATABASE_URL);
console.log(applied.length ? `applied: ${applied.join(", ")}` : "schema is up to date");
