/**
 * What a chaos run sells: a scarce hot product, a plentiful bulk one and one the admin
 * restocks mid-sale. It books what was created and restocked, for the conservation check.
 */
import { errorMessage } from "@oms/shared";
import type { HttpClient } from "./http-client";
import { sleep } from "./infra";
import type { ProductBook } from "./invariants";
import type { Shape } from "./shape";
import type { Timeline } from "./timeline";

export const HOT = "chaos-hot";
export const BULK = "chaos-bulk";
export const RESTOCK = "chaos-restock";
const PRICES: Record<string, number> = { [HOT]: 4_999, [BULK]: 250, [RESTOCK]: 1_200 };

export class Catalog {
  readonly products: ProductBook[] = [];

  constructor(
    private readonly http: HttpClient,
    private readonly adminToken: string,
    private readonly seed: number,
    private readonly timeline: Timeline,
  ) {}

  private admin(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.adminToken}`, ...extra };
  }

  async create(shape: Shape): Promise<void> {
    const catalog: Array<[string, number]> = [
      [HOT, shape.hotStock],
      [BULK, shape.bulkStock],
      [RESTOCK, shape.restockStock],
    ];
    for (const [productId, quantity] of catalog) {
      const res = await this.http.request(
        "POST",
        "/admin/products",
        {
          productID: productId,
          productName: productId,
          priceCents: PRICES[productId] ?? 100,
          quantity,
        },
        this.admin(),
      );
      if (res.status !== 201)
        throw new Error(`could not create ${productId}: ${res.status} ${JSON.stringify(res.body)}`);
      this.products.push({ productId, initial: quantity, restocked: 0 });
    }
  }

  /** Units of a product the API says are left to buy (0 when it cannot say). */
  async available(productId: string): Promise<number> {
    const res = await this.http.request("GET", `/products/${productId}`).catch(() => undefined);
    return Number((res?.body.product as { available?: number } | undefined)?.available ?? 0);
  }

  async restock(productId: string, add: number): Promise<void> {
    const { timeline } = this;
    // One key per restock: a retry after a lost answer replays the first answer instead of adding twice.
    const key = `chaos-restock-${this.seed}-${productId}-${timeline.faults.restock ?? 0}-${Date.now()}`;
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const res = await this.http.request(
          "POST",
          `/admin/products/${productId}/restock`,
          { add },
          this.admin({ "Idempotency-Key": key }),
        );
        timeline.event(`restock ${productId} +${add}: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status === 200) {
          const book = this.products.find((p) => p.productId === productId);
          if (book) book.restocked += add;
          timeline.count("restock");
          return;
        }
        if (res.status < 500 && res.status !== 409) {
          timeline.notes.push(`restock of ${productId} refused: ${res.status} ${JSON.stringify(res.body)}`);
          return;
        }
      } catch (err) {
        timeline.event(`restock ${productId}: ${errorMessage(err)}`);
      }
      await sleep(500);
    }
    timeline.notes.push(`restock of ${productId} got no clear answer; conservation assumes it did not apply`);
  }
}
