/**
 * A named invariant check: how many assertions it evaluated and every violation it
 * found, so a report says both what held and everything that did not.
 */

export interface CheckResult {
  name: string;
  /** Individual assertions evaluated. */
  checked: number;
  /** Violations found (the list below may be cut short). */
  failed: number;
  violations: string[];
}

/** A chaos run can break thousands of orders at once; the count stays exact, the list is cut. */
export const MAX_LISTED = 200;

export class Check {
  checked = 0;
  readonly violations: string[] = [];

  constructor(readonly name: string) {}

  count(n = 1): void {
    this.checked += n;
  }

  fail(message: string): void {
    this.violations.push(message);
  }

  result(maxListed = MAX_LISTED): CheckResult {
    const { name, checked, violations } = this;
    return {
      name,
      checked,
      failed: violations.length,
      violations:
        violations.length > maxListed
          ? [...violations.slice(0, maxListed), `... and ${violations.length - maxListed} more`]
          : [...violations],
    };
  }
}
