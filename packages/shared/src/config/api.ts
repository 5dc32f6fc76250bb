import { z } from "zod";
import { BASE_SETTINGS } from "./base";
import { integer, nonNegative, port, secret, urlPath } from "./settings";

/** What an API process reads besides the base: its HTTP server, waits, admin and client auth. */
export const API_SETTINGS = {
  PORT: port(5003).describe("API port (5003, as the original service)"),
  MAX_BODY_BYTES: integer(16_384, { min: 256, max: 10_000_000 }).describe("Largest accepted request body"),
  HTTP_HEADERS_TIMEOUT_MS: integer(10_000, { min: 100 }).describe(
    "A connection whose request headers have not all arrived after this is closed (at most HTTP_REQUEST_TIMEOUT_MS)",
  ),
  HTTP_REQUEST_TIMEOUT_MS: integer(30_000, { min: 100 }).describe(
    "A request whose body has not all arrived after this is answered 408 and its connection closed",
  ),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(5_000, { min: 100 }).describe(
    "An idle keep-alive connection is closed after this (behind a load balancer, set it above the balancer's idle timeout)",
  ),
  HTTP_MAX_CONNECTIONS: integer(2_000, { min: 1 }).describe("Open connections per process; more are closed at once"),
  CART_TIMEOUT_MS: nonNegative(5_000).describe("How long the API waits for a cart job before answering 504"),
  CHECKOUT_TIMEOUT_MS: nonNegative(8_000).describe(
    "How long the API waits for a checkout before answering 202 Pending",
  ),
  CHECKOUT_LOCK_TTL_MS: integer(120_000, { min: 1_000 }).describe(
    "How long one client's checkout excludes a second one",
  ),
  IDEMPOTENCY_TTL_MS: integer(86_400_000, { min: 1_000 }).describe(
    "How long an Idempotency-Key's stored answer is kept",
  ),
  RATE_LIMIT_PER_MINUTE: integer(600, { min: 0 }).describe("Requests per client per minute (0 = no limit)"),
  ADMIN_TOKEN: secret(16).describe(
    "Bearer token of the admin API, and the password of user `admin` on Bull Board; unset disables both",
  ),
  VIEWER_TOKEN: secret(16).describe("Password of user `viewer`: Bull Board read-only"),
  BULL_BOARD_PATH: urlPath("/admin/queues", "/admin/queues").describe("Where Bull Board is mounted"),
  PUBLIC_BASE_PATH: urlPath("", "/shop").describe(
    "Path prefix a reverse proxy adds in front of the API (for Bull Board's asset links)",
  ),
  JWT_SECRET: secret(32).describe(
    "When set, cart, checkout and order reads need a bearer JWT (HS256) whose subject is the clientID; it also keys keyed order ids",
  ),
  JWT_MAX_AGE_S: integer(3_600, { min: 1 }).describe(
    "Oldest client JWT accepted, by its iat; tokens must carry exp and iat",
  ),
};

export const ApiSchema = z.object({ ...BASE_SETTINGS, ...API_SETTINGS });
export type ApiConfig = z.infer<typeof ApiSchema>;
