import { createDb, loadBaseConfig } from "@oms/shared";
import { prepareDatabase, seedDemoCatalog } from "@oms/migrations";

const config = loadBaseConfig();
await prepareDatabase(config.DATABASE_URL);
const db = createDb(config.DATABASE_URL, 1);
try {
  const inserted = await seedDemoCatalog(db);
  console.log(`demo catalog: ${inserted} product(s) inserted, existing ones left as they were`);
} finally {
  await db.destroy();
}
