import { z } from "zod";

/** An integer setting with its bounds and default: the one chain every numeric setting needs. */
export function integer(def: number, bounds: { min?: number; max?: number } = {}) {
  let schema = z.coerce.number().int();
  if (bounds.min !== undefined) schema = schema.min(bounds.min);
  if (bounds.max !== undefined) schema = schema.max(bounds.max);
  return schema.default(def);
}

/** A count or duration that cannot be negative. */
export const nonNegative = (def: number) => integer(def, { min: 0 });

/** A TCP port; 0 lets the system choose (or, for a metrics port, serves none). */
export const port = (def: number) => integer(def, { min: 0, max: 65535 });

/** "true"/"false", "1"/"0", "yes"/"no", "on"/"off". */
export const bool = (def: boolean) => z.stringbool().default(def);

/** A secret of at least `min` characters; unset switches its feature off. */
export const secret = (min: number) => z.string().min(min, `must be at least ${min} characters`).optional();

/** A name that may appear in Redis keys, hash tags and Sentinel's commands. */
export const keySafeName = (max: number, why = "") =>
  z.string().regex(new RegExp(`^[A-Za-z0-9_.-]{1,${max}}$`), `letters, digits, '_', '.', '-' only${why}`);

/** A comma-separated list of the given names, at least one. */
export function nameList<const T extends readonly [string, ...string[]]>(names: T, def: string) {
  return z
    .string()
    .default(def)
    .transform((s) =>
      s
        .split(",")
        .map((name) => name.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(names)).min(1));
}

/** host:port,host:port,... as a list of { host, port }. */
export const hostPorts = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((hp) => hp.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[A-Za-z0-9_.-]+:\d{1,5}$/, "each entry must be host:port"))
      .min(1, "must name at least one host:port"),
  )
  .transform((list) =>
    list.map((hp) => {
      const at = hp.lastIndexOf(":");
      return { host: hp.slice(0, at), port: Number(hp.slice(at + 1)) };
    }),
  );

/** A URL path such as /admin/queues; with an empty default, the empty path (none) too. */
export const urlPath = (def: string, example: string) =>
  z
    .string()
    .regex(
      def === "" ? /^(\/[A-Za-z0-9._-]+)*$/ : /^(\/[A-Za-z0-9._-]+)+$/,
      def === "" ? `must be empty or a path such as ${example}` : `must be a path such as ${example}`,
    )
    .default(def);
