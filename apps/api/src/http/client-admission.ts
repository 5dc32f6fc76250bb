import type { ClientIdentity } from "./auth";
import type { ClientLimiter } from "./rate-limit";
import type { HttpResult } from "./result";

export type Admission = { ok: true; subject: string | undefined } | { ok: false; result: HttpResult };

export interface AdmissionRequest {
  /** The client the request names (body or path); anything but a string is the handler's 400. */
  clientID: unknown;
  authorization: string | undefined;
  ip: string | undefined;
}

/**
 * Who a shop request is from, and whether it may run now. With JWT on, the token is
 * checked before the limiter counts anything: an authenticated request counts against
 * its token's subject, any other against its address, so nobody can spend another
 * client's allowance by naming it (review finding 4). With JWT off there is no identity
 * but the one the request names.
 */
export function createClientAdmission(
  limiter: ClientLimiter,
  authenticate: ((authorization: string | undefined) => Promise<ClientIdentity>) | undefined,
) {
  return async (req: AdmissionRequest): Promise<Admission> => {
    const identity = authenticate ? await authenticate(req.authorization) : undefined;
    const key = identity?.ok
      ? `c:${identity.subject}`
      : !identity && typeof req.clientID === "string"
        ? `c:${req.clientID}`
        : `ip:${req.ip ?? "unknown"}`;
    const limited = await limiter(key);
    if (limited) return { ok: false, result: limited };
    if (!identity) return { ok: true, subject: undefined };
    return identity.ok ? { ok: true, subject: identity.subject } : identity;
  };
}
