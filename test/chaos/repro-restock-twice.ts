/**
 * Minimal reproduction of the chaos suite's conservation violation on the restocked
 * product (full runs, seeds 3609795647 and 1641306763): a restock is applied twice.
 *
 *   npx tsx test/chaos/repro-restock-twice.ts
 *
 * POST /admin/products/:id/restock commits the new level to MySQL, then moves the cached
 * level in Redis. When Redis fails in between (here: the cache update throws as it does
 * when the connection just dropped), the answer is 503, the Idempotency-Key record is
 * dropped (5xx answers are not stored), and the admin's retry with the same key adds the
 * units again. Uses its own database and key prefix on the shared MariaDB and Redis.
 */
import { createTestEnv, insertProducts } from "../support/env";
import { postJson, startApi } from "../support/system";

const env = await createTestEnv({ ADMIN_TOKEN: "repro-admin-token-0123456789" });
const api = await startApi(env);
try {
  await insertProducts(env.db, [{ id: "p1", quantity: 20 }]);
  const engine = api.deps.engine;
  const apply = engine.applyStockChange.bind(engine);
  let failures = 1;
  engine.applyStockChange = async (productId, delta) => {
    if (failures-- > 0) throw new Error("Connection is closed.");
    return apply(productId, delta);
  };
  const headers = { authorization: "Bearer repro-admin-token-0123456789", "idempotency-key": "restock-1" };
  for (let attempt = 1; attempt <= 2; attempt++) {
    const res = await postJson(`${api.url}/admin/products/p1/restock`, { add: 30 }, headers);
    console.log(`attempt ${attempt}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const row = (await env.db("product_details").where({ product_id: "p1" }).first("quantity")) as { quantity: number };
  console.log(`MySQL quantity: ${row.quantity} (20 + one restock of 30 = 50); reproduced: ${row.quantity === 80}`);
} finally {
  await api.close();
  await env.close();
}
process.exit(0);
