/**
 * The operator pages in a real headless browser (Debian's /usr/bin/chromium driven by
 * playwright-core; nothing is downloaded): Bull Board at /admin/queues behind HTTP Basic,
 * with its assets loading under the configured base path, and Swagger UI at /documentation.
 * Screenshots land in test-results/screenshots/ as artifacts.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page, type Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../../test/support/env";
import { startApi, type RunningApi } from "../../../test/support/system";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SCREENSHOTS = join(ROOT, "test-results", "screenshots");
const ADMIN_TOKEN = "browser-admin-token-0123456789";
const VIEWER_TOKEN = "browser-viewer-token-0123456789";
const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

let env: TestEnv;
let api: RunningApi;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Pages' console errors and failed requests, per page, so a test can say what went wrong. */
const problems = new Map<Page, string[]>();

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the browser tests need Debian's chromium package (apt-get install -y chromium; .ci/run installs it)`,
    );
  }
  await mkdir(SCREENSHOTS, { recursive: true });
  env = await createTestEnv({ ADMIN_TOKEN, VIEWER_TOKEN });
  // No workers: a job added to a queue stays waiting, where the board shows it.
  api = await startApi(env);
  // Playwright starts the browser on a fresh temporary --user-data-dir of its own and removes it on close.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await api?.close();
  await env?.close();
});

/** A fresh context (no cookies, no cache); `credentials` are sent when the server asks (401 + Basic). */
async function openBrowser(credentials?: { username: string; password: string }): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    ...(credentials ? { httpCredentials: credentials } : {}),
  });
  contexts.push(context);
  // The tests reach only this machine's API: anything else (the board links Google Fonts) is
  // blocked, and the page must render from the API's own assets.
  await context.route("**/*", (route) =>
    route.request().url().startsWith(api.url) ? route.continue() : route.abort("blockedbyclient"),
  );
  const page = context.pages()[0] ?? (await context.newPage());
  const seen: string[] = [];
  problems.set(page, seen);
  const ours = (url: string) => url.startsWith(api.url) && !url.endsWith("/favicon.ico");
  page.on("console", (msg) => {
    if (msg.type() === "error" && ours(msg.location().url || api.url)) seen.push(`console: ${msg.text()}`);
  });
  page.on("requestfailed", (req) => {
    if (ours(req.url())) seen.push(`request failed: ${req.url()} (${req.failure()?.errorText ?? "?"})`);
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && ours(res.url())) seen.push(`HTTP ${res.status()} ${res.url()}`);
  });
  return page;
}

/**
 * Navigates to a page the server refuses with 401. Chromium, with no (or no valid)
 * credentials to offer, ends such a navigation with ERR_INVALID_AUTH_CREDENTIALS, so the
 * answer is read from the response event rather than from goto's result.
 */
async function refusedNavigation(page: Page, url: string): Promise<Response> {
  const response = page.waitForResponse((r) => r.url() === url, { timeout: 10_000 });
  await page.goto(url).catch((err: unknown) => {
    if (!String(err).includes("ERR_INVALID_AUTH_CREDENTIALS")) throw err;
  });
  return response;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

describe("Bull Board in a browser", () => {
  it("shows the three queues and a waiting job to the admin, with every asset loaded", async () => {
    const jobId = `browser-probe-${env.id}`;
    await api.deps.queues.checkout.add(
      "browser-probe",
      {
        type: "checkout",
        orderId: "00000000-0000-4000-8000-000000000000",
        clientId: "c-browser",
        paymentToken: "tok_ok",
      },
      { jobId },
    );

    const page = await openBrowser({ username: "admin", password: ADMIN_TOKEN });
    const assets: string[] = [];
    page.on("response", (res) => {
      if (/\.(js|css)(\?|$)/.test(res.url())) assets.push(`${res.status()} ${res.url()}`);
    });
    const res = await page.goto(`${api.url}/admin/queues`, { waitUntil: "load" });
    expect(res?.status()).toBe(200);
    // The board is a React app: the queue names only appear once its bundle loaded and ran.
    for (const queue of ["cart", "checkout", "inventory"]) {
      await expect
        .poll(async () => page.getByRole("link", { name: queue, exact: true }).count(), {
          timeout: 10_000,
          message: `queue ${queue} on the board; page problems: ${problems.get(page)?.join("; ")}`,
        })
        .toBeGreaterThan(0);
    }
    await shot(page, "bull-board-queues");
    expect(assets.length, "the board loads its scripts and styles").toBeGreaterThan(0);
    expect(
      assets.filter((a) => !a.startsWith("200 ")),
      "every asset under the base path loads",
    ).toEqual([]);
    expect(assets.every((a) => a.includes("/admin/queues/"))).toBe(true);
    expect(problems.get(page)).toEqual([]);

    await page.goto(`${api.url}/admin/queues/queue/checkout?status=waiting`, { waitUntil: "load" });
    await expect
      .poll(async () => page.getByText(jobId).count(), {
        timeout: 10_000,
        message: `job ${jobId} in the checkout queue's waiting list`,
      })
      .toBeGreaterThan(0);
    await expect.poll(async () => page.getByText("browser-probe", { exact: true }).count()).toBeGreaterThan(0);
    await shot(page, "bull-board-checkout-waiting");
  });

  it("refuses the board to a browser without credentials (401)", async () => {
    const page = await openBrowser();
    const res = await refusedNavigation(page, `${api.url}/admin/queues`);
    expect(res.status()).toBe(401);
    expect(res.headers()["www-authenticate"]).toMatch(/^Basic /);
    expect(await page.getByRole("link", { name: "checkout", exact: true }).count()).toBe(0);
  });

  it("refuses wrong credentials, and the viewer sees a read-only board", async () => {
    const wrong = await openBrowser({ username: "admin", password: "not-the-admin-token" });
    expect((await refusedNavigation(wrong, `${api.url}/admin/queues`)).status()).toBe(401);

    const viewer = await openBrowser({ username: "viewer", password: VIEWER_TOKEN });
    expect((await viewer.goto(`${api.url}/admin/queues`, { waitUntil: "load" }))?.status()).toBe(200);
    await expect
      .poll(async () => viewer.getByText("Orders (read-only)").count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await shot(viewer, "bull-board-viewer");
  });
});

describe("Swagger UI in a browser", () => {
  it("renders /documentation with the shop endpoints from /openapi.json", async () => {
    const page = await openBrowser();
    const res = await page.goto(`${api.url}/documentation`, { waitUntil: "load" });
    expect(res?.status()).toBe(200);
    for (const path of ["/addToCart", "/checkOutCart", "/cart/{clientID}", "/admin/products"]) {
      await expect
        .poll(async () => page.getByText(path, { exact: true }).count(), {
          timeout: 10_000,
          message: `${path} in Swagger UI; page problems: ${problems.get(page)?.join("; ")}`,
        })
        .toBeGreaterThan(0);
    }
    expect(problems.get(page)).toEqual([]);
    await shot(page, "swagger-ui");
  });
});
