import { STATUS_CODES } from "node:http";
import { codeForStatus, errorCode, fieldOf, stringField } from "@oms/shared";
import { failure, type HttpResult } from "./result";

/**
 * Other errors of the request itself: a path parameter that does not percent-decode (the
 * router's URIError), a body that does not decompress as its Content-Encoding says
 * (body-parser's 400 around a zlib error), and any other 4xx a middleware raises.
 */
export function requestFailure(err: unknown): HttpResult | null {
  if (err instanceof URIError) return failure("INVALID_INPUT", "the URL path has malformed percent-encoding");
  const status = fieldOf(err, "status");
  const code = errorCode(err);
  if (typeof status !== "number" || status < 400 || status > 499) return null;
  if (code !== undefined && /^(Z_|ERR_ZLIB|ERR_BROTLI|ERR__ERROR)/.test(code))
    return failure("INVALID_INPUT", "the request body does not decompress as its Content-Encoding says");
  // The middleware's own status stands; the code is the nearest in the map.
  return { ...failure(codeForStatus(status), STATUS_CODES[status] ?? "bad request"), status };
}

/** body-parser's errors are the client's: answer them with 4xx and a plain message. */
export function bodyParserFailure(err: unknown): HttpResult | null {
  const type = stringField(err, "type");
  switch (type) {
    case "entity.parse.failed":
      return failure("INVALID_INPUT", "malformed JSON body");
    case "entity.too.large":
      return failure("PAYLOAD_TOO_LARGE", "request body too large");
    case "encoding.unsupported":
    case "charset.unsupported":
      return failure("UNSUPPORTED_MEDIA_TYPE", "unsupported body encoding");
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
      return failure("INVALID_INPUT", "incomplete request body");
    default:
      return null;
  }
}
