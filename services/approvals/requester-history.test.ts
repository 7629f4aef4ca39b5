import { agoText, historyLine, storeHistoryEntries, summarizeHistory, type HistoryEntry } from './requester-history';

const NOW = new Date('2026-03-02T12:00:00Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000).toISOString();

describe('requester history', () => {
  it('counts activations in the last 90 days, finds the last one and lists denials with reasons', () => {
    const entries: HistoryEntry[] = [
      { key: 'a1', at: daysAgo(3), outcome: 'activated', source: 'pim' },
      { key: 'a2', at: daysAgo(20), outcome: 'activated', source: 'pim' },
      { key: 'a3', at: daysAgo(120), outcome: 'activated', source: 'pim' },
      { key: 'd1', at: daysAgo(10), outcome: 'denied', source: 'pim' },
      { key: 'D1', at: daysAgo(10), outcome: 'denied', source: 'store', deniedBy: 'Megan Bowen', reason: 'No ticket cited' },
      { key: 'd2', at: daysAgo(200), outcome: 'denied', source: 'store', deniedBy: 'Adele Vance', reason: 'old' },
    ];
    const h = summarizeHistory(entries, { now: NOW });
    expect(h).toEqual({
      windowDays: 90,
      activations: 2,
      lastActivationAt: daysAgo(3),
      denials: [{ at: daysAgo(10), by: 'Megan Bowen', reason: 'No ticket cited' }],
      denialCount: 1,
      firstActivation: false,
    });
    expect(historyLine(h, NOW)).toBe('2 activations in 90 days · last 3 days ago · 1 denial');
  });

  it('counts a request seen in PIM and in our store once, with PIM deciding the outcome', () => {
    const h = summarizeHistory(
      [
        { key: 'r1', at: daysAgo(5), outcome: 'activated', source: 'store' },
        { key: 'R1', at: daysAgo(5), outcome: 'activated', source: 'pim' },
      ],
      { now: NOW },
    );
    expect(h.activations).toBe(1);
  });

  it('leaves out the request on the card and flags a first activation', () => {
    const h = summarizeHistory(
      [
        { key: 'current', at: daysAgo(0), outcome: 'activated', source: 'pim' },
        { key: 'x', at: daysAgo(1), outcome: 'denied', source: 'pim' },
      ],
      { now: NOW, currentKey: 'CURRENT' },
    );
    expect(h).toMatchObject({ activations: 0, lastActivationAt: null, firstActivation: true, denialCount: 1, denials: [{ by: null, reason: null }] });
    expect(historyLine(h, NOW)).toBe('0 activations in 90 days · 1 denial');
    expect(historyLine({ ...h, denialCount: 0, denials: [] }, NOW)).toBe('0 activations in 90 days · no denials');
  });

  it('keeps at most three denials and counts the rest', () => {
    const entries: HistoryEntry[] = Array.from({ length: 5 }, (_, i) => ({
      key: `d${i}`,
      at: daysAgo(i + 1),
      outcome: 'denied',
      source: 'store',
      reason: `r${i}`,
    }));
    const h = summarizeHistory(entries, { now: NOW });
    expect(h.denialCount).toBe(5);
    expect(h.denials.map((d) => d.reason)).toEqual(['r0', 'r1', 'r2']);
  });

  it('reads our store: approved and denied approvals, auto-approved and denied evaluations', () => {
    const entries = storeHistoryEntries(
      [
        {
          pim_request_id: 'p1',
          status: 'approved',
          created_at: daysAgo(2),
          decided_by_name: 'Adele Vance',
          decided_by_upn: null,
          decision_justification: 'ok',
        },
        {
          pim_request_id: 'p2',
          status: 'denied',
          created_at: daysAgo(4),
          decided_by_name: null,
          decided_by_upn: 'meganb@contoso.example',
          decision_justification: 'Not during the freeze',
        },
        { pim_request_id: 'p3', status: 'expired', created_at: daysAgo(6), decided_by_name: null, decided_by_upn: null, decision_justification: null },
      ],
      [
        { pim_request_id: 'p4', request_key: 'p4', outcome: 'AutoApproved', reasons: '[]', created_at: daysAgo(8) },
        { pim_request_id: null, request_key: 'k5', outcome: 'Denied', reasons: '["Ticket INC1 is closed."]', created_at: daysAgo(9) },
        { pim_request_id: 'p1', request_key: 'p1', outcome: 'Approved', reasons: '[]', created_at: daysAgo(2) },
      ],
    );
    expect(entries).toEqual([
      { key: 'p1', at: daysAgo(2), outcome: 'activated', source: 'store' },
      { key: 'p2', at: daysAgo(4), outcome: 'denied', source: 'store', deniedBy: 'meganb@contoso.example', reason: 'Not during the freeze' },
      { key: 'p4', at: daysAgo(8), outcome: 'activated', source: 'store' },
      { key: 'k5', at: daysAgo(9), outcome: 'denied', source: 'store', deniedBy: 'the decision service', reason: 'Ticket INC1 is closed.' },
    ]);
  });

  it.each([
    [0, 'today'],
    [1, 'yesterday'],
    [3, '3 days ago'],
    [20, '2 weeks ago'],
    [75, '2 months ago'],
  ])('%i days ago reads "%s"', (d, text) => {
    expect(agoText(daysAgo(d), NOW)).toBe(text);
  });
});
