/** `?, ?, ?` for n values. */
export function marks(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

/** `(?, ?), (?, ?)` for `rows` tuples of `width` values: the VALUES of a multi-row INSERT. */
export function tuples(rows: number, width: number): string {
  const one = `(${marks(width)})`;
  return Array.from({ length: rows }, () => one).join(", ");
}

/** A value bound to a `?`. */
export type SqlValue = string | number | null;

/** `CASE <column> WHEN ? THEN ? ... END` and its bindings: one value per key in one statement. */
export function caseOf(column: string, pairs: ReadonlyArray<readonly [string, SqlValue]>): [string, SqlValue[]] {
  return [`CASE ${column} ${pairs.map(() => "WHEN ? THEN ?").join(" ")} END`, pairs.flat()];
}
