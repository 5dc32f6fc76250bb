/** Reply codes of the Lua scripts in ./lua; each script's header lists the ones it returns. */
export enum InventoryCode {
  OK = 0,
  INSUFFICIENT_STOCK = 1,
  NOT_LOADED = 2,
  HOLD_NOT_FOUND = 3,
  HOLD_RELEASED = 4,
  HOLD_COMMITTED = 5,
  KEY_MISMATCH = 6,
  INVALID_ARGUMENT = 7,
  NOT_EXPIRED = 8,
  NOT_OWNER = 9,
  CHANGE_EXPIRED = 10,
}

/** Codes that mean a caller broke the scripts' contract: a bug, so they are thrown. */
export class InventoryScriptError extends Error {
  constructor(
    readonly script: string,
    readonly code: number,
  ) {
    super(`inventory script ${script} answered ${InventoryCode[code] ?? code}`);
    this.name = "InventoryScriptError";
  }
}

/**
 * The answer a reply code stands for, from the codes a caller expects; any other code
 * means the contract was broken, so it is thrown.
 */
export function answerFor<T>(script: string, code: number, answers: Readonly<Partial<Record<number, T>>>): T {
  const answer = answers[code];
  if (answer === undefined) throw new InventoryScriptError(script, code);
  return answer;
}
