import { spotAuditDraw, spotAuditSample } from './spot-audit';

const approvals = (n: number, prefix = 'req') => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}` }));
const opts = { rate: 0.1, salt: 'deployment-secret' };

describe("spot-audit sample of yesterday's approvals", () => {
  it('is the same for the same approvals, day and salt, whatever order they were read in', () => {
    const day = approvals(300);
    const first = spotAuditSample(day, '2026-11-22', opts).map((a) => a.id);
    const shuffled = [...day].reverse();
    expect(spotAuditSample(shuffled, '2026-11-22', opts).map((a) => a.id)).toEqual(first);
    expect(first.length).toBeGreaterThan(0);
  });

  it('draws differently on another day and with another salt', () => {
    const day = approvals(300);
    const base = spotAuditSample(day, '2026-11-22', opts).map((a) => a.id);
    expect(spotAuditSample(day, '2026-11-23', opts).map((a) => a.id)).not.toEqual(base);
    expect(spotAuditSample(day, '2026-11-22', { ...opts, salt: 'another-secret' }).map((a) => a.id)).not.toEqual(base);
  });

  it('samples about one in ten over 1,000 approvals', () => {
    const n = spotAuditSample(approvals(1000), '2026-11-22', opts).length;
    // Binomial(1000, 0.1): mean 100, sd 9.5; 70..130 is over three sd either side.
    expect(n).toBeGreaterThanOrEqual(70);
    expect(n).toBeLessThanOrEqual(130);
    // And the rate is a knob, not a constant.
    const quarter = spotAuditSample(approvals(1000), '2026-11-22', { ...opts, rate: 0.25 }).length;
    expect(quarter).toBeGreaterThan(200);
    expect(quarter).toBeLessThan(300);
  });

  it('over many days, picks each approval about as often as the rate says', () => {
    let picked = 0;
    for (let d = 1; d <= 28; d++) picked += spotAuditSample(approvals(100, `day${d}`), `2026-02-${String(d).padStart(2, '0')}`, opts).length;
    expect(picked / 2800).toBeGreaterThan(0.08);
    expect(picked / 2800).toBeLessThan(0.12);
  });

  it('always samples at least one when there were approvals, and none when there were none', () => {
    for (let n = 1; n <= 5; n++) expect(spotAuditSample(approvals(n, `few${n}`), '2026-11-22', opts).length).toBeGreaterThanOrEqual(1);
    expect(spotAuditSample([], '2026-11-22', opts)).toEqual([]);
    expect(spotAuditSample(approvals(10), '2026-11-22', { ...opts, rate: 0 })).toEqual([]);
  });

  it('draws a number in [0, 1) per request that depends on the request', () => {
    const a = spotAuditDraw('req-1', '2026-11-22', 's');
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(1);
    expect(spotAuditDraw('req-1', '2026-11-22', 's')).toBe(a);
    expect(spotAuditDraw('req-2', '2026-11-22', 's')).not.toBe(a);
  });

  it('refuses a rate outside 0..1 and an empty salt', () => {
    expect(() => spotAuditSample(approvals(3), '2026-11-22', { rate: 1.5, salt: 's' })).toThrow(/between 0 and 1/);
    expect(() => spotAuditSample(approvals(3), '2026-11-22', { rate: 0.1, salt: '' })).toThrow(/salt/);
  });
});
