import { renderAdminDigestCard } from '../../cards/digest';
import { validateAdaptiveCard } from '../../cards/validate-card';
import { USER } from '../../sim/seed';
import { Store } from '../../services/store/store';
import { buildAdminDigest, spotAuditWindow } from '../../services/digests/admin-digest';
import { AuditReviewError, AuditReviews } from '../../services/digests/audit-reviews';
import { DigestCollector, ActivationHistory } from '../../services/digests/collect';
import { insertApproval } from '../support/digest-tenant';

const T0 = new Date('2026-11-23T08:00:00Z');
const DAY = 24 * 3600 * 1000;
const emptyInputs = (now: Date) => new DigestCollector(new ActivationHistory(), { now }).finish();

describe('spot-audit reviews', () => {
  let store: Store;
  let clock = T0;
  let reviews: AuditReviews;
  beforeEach(async () => {
    store = await Store.open('sqlite::memory:');
    clock = T0;
    reviews = new AuditReviews(store.db, () => clock);
  });
  afterEach(() => store.close());

  const approvedYesterday = () =>
    insertApproval(store, {
      principalId: USER.alex,
      status: 'approved',
      decidedById: USER.megan,
      decidedByName: 'Megan Bowen',
      decidedAt: '2026-11-22T15:00:00.000Z',
    });
  const row = async (id: string) => (await store.requests.get(id))!;

  it('refuses the approver and the requester, and says why', async () => {
    const id = await approvedYesterday();
    const approval = await row(id);
    await expect(reviews.record(id, USER.megan, 'looksRight', null, approval)).rejects.toMatchObject({
      refusal: 'approver',
      status: 403,
      message: expect.stringMatching(/You approved this request/),
    });
    // Case does not help: object ids compare case-insensitively.
    await expect(reviews.record(id, USER.alex.toUpperCase(), 'flag', 'hm', approval)).rejects.toMatchObject({ refusal: 'requester' });
    await expect(reviews.record(id, USER.alex, 'flag', 'hm', approval)).rejects.toBeInstanceOf(AuditReviewError);
    expect(await reviews.reviewsOf([id])).toEqual([]);
  });

  it('records a reviewer once per approval; a second verdict replaces the first', async () => {
    const id = await approvedYesterday();
    const approval = await row(id);
    await reviews.record(id, USER.adele, 'looksRight', null, approval, 'Adele Vance');
    clock = new Date(T0.getTime() + 60_000);
    await reviews.record(id, USER.adele, 'flag', 'The ticket was closed when this was approved.', approval, 'Adele Vance');
    const all = await reviews.reviewsOf([id]);
    expect(all).toEqual([
      expect.objectContaining({
        request_id: id,
        reviewer_id: USER.adele,
        verdict: 'flag',
        note: 'The ticket was closed when this was approved.',
        created_at: clock.toISOString(),
      }),
    ]);
  });

  it('needs a note to flag, and reviews approvals only', async () => {
    const id = await approvedYesterday();
    await expect(reviews.record(id, USER.adele, 'flag', '   ', await row(id))).rejects.toMatchObject({ refusal: 'note_required' });
    const pending = await insertApproval(store, { principalId: USER.alex, status: 'pending' });
    await expect(reviews.record(pending, USER.adele, 'looksRight', null, await row(pending))).rejects.toMatchObject({ refusal: 'not_approved' });
    await expect(reviews.record('not-this-one', USER.adele, 'looksRight', null, await row(id))).rejects.toMatchObject({ refusal: 'wrong_request' });
  });

  it("shows yesterday's flag in the next day's admin digest, with who approved and who flagged", async () => {
    const id = await approvedYesterday();
    const window = spotAuditWindow(T0, 'UTC');
    const population = await reviews.approvalsDecidedBetween(window.from, window.to);
    expect(population.map((r) => r.id)).toEqual([id]);
    const today = buildAdminDigest(
      { inputs: emptyInputs(T0), pending: [], approvals: population, flags: [] },
      { now: T0, timeZone: 'UTC', spotAudit: { salt: 's' } },
    );
    expect(today.spotAudit.sample.map((s) => s.requestId)).toEqual([id]);

    // A reviewer flags it from today's card.
    clock = new Date(T0.getTime() + 2 * 3600 * 1000);
    await reviews.record(id, USER.adele, 'flag', 'Approved without an open incident.', await row(id), 'Adele Vance');
    await reviews.record(id, USER.patti, 'looksRight', null, await row(id), 'Patti Fernandez');

    // Tomorrow's digest lists the flags since today's digest; the "looks right" is not a flag.
    const tomorrow = new Date(T0.getTime() + DAY);
    const flags = await reviews.flagsSince(T0.toISOString());
    const next = buildAdminDigest(
      { inputs: emptyInputs(tomorrow), pending: [], approvals: [], flags },
      { now: tomorrow, timeZone: 'UTC', spotAudit: { salt: 's' } },
    );
    expect(next.flags).toEqual([
      expect.objectContaining({
        requestId: id,
        principalId: USER.alex,
        approvedById: USER.megan,
        approvedByName: 'Megan Bowen',
        reviewerId: USER.adele,
        reviewerName: 'Adele Vance',
        note: 'Approved without an open incident.',
      }),
    ]);
    // A flag from before the previous digest is not repeated.
    expect(await reviews.flagsSince(tomorrow.toISOString())).toEqual([]);

    const card = renderAdminDigestCard({ digest: next, names: { users: new Map([[USER.alex, 'Alex Wilber']]), targets: new Map() } });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(JSON.stringify(card)).toContain('flagged by Adele Vance: “Approved without an open incident.”');
    expect(JSON.stringify(card)).toContain('Flagged approvals since the last digest: 1');
  });
});
