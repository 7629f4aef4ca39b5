import { createHmac } from 'node:crypto';

/** By default one approval in ten goes to a second pair of eyes. */
export const DEFAULT_SPOT_AUDIT_RATE = 0.1;

export interface SpotAuditOptions {
  /** Share of approvals sampled, 0..1. */
  rate: number;
  /**
   * A secret of the deployment: without it anyone who knows the request ids could tell in advance
   * which approvals will be audited (and which will not).
   */
  salt: string;
}

/**
 * A request's draw for a day, uniform in [0, 1): HMAC-SHA256(salt, date|requestId), first 48 bits. The
 * same request, day and salt always draw the same number, so the sample can be recomputed (and checked)
 * later, and it does not depend on the order the approvals were read in.
 */
export function spotAuditDraw(requestId: string, date: string, salt: string): number {
  const mac = createHmac('sha256', salt).update(`${date}|${requestId}`).digest();
  return mac.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The approvals of `date` (the admin zone's yesterday) picked for review: those whose draw is below the
 * rate, lowest draw first. When there were approvals but none drew below the rate, the lowest draw is
 * picked anyway: a day with approvals always gets at least one looked at.
 */
export function spotAuditSample<T extends { id: string }>(approvals: readonly T[], date: string, opts: SpotAuditOptions): T[] {
  if (!(opts.rate >= 0 && opts.rate <= 1)) throw new Error(`spot-audit rate ${opts.rate} must be between 0 and 1`);
  if (!opts.salt) throw new Error('spot-audit salt is empty: configure a secret so the sample cannot be predicted');
  if (approvals.length === 0 || opts.rate === 0) return [];
  const drawn = approvals.map((a) => ({ a, d: spotAuditDraw(a.id, date, opts.salt) })).sort((x, y) => x.d - y.d || (x.a.id < y.a.id ? -1 : 1));
  const picked = drawn.filter((x) => x.d < opts.rate);
  return (picked.length > 0 ? picked : drawn.slice(0, 1)).map((x) => x.a);
}
