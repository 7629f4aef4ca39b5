import { Store } from '../store/store';

const ALEX = '11111111-1111-4111-8111-111111111111';
const MEGAN = '22222222-2222-4222-8222-222222222222';

describe('break-glass grants in the store', () => {
  let store: Store;
  const at = new Date('2026-12-07T03:00:00Z');
  beforeEach(async () => {
    store = await Store.open('sqlite::memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  const grant = (evaluationId: string, grantedAt = at) => ({
    id: `g-${evaluationId}`,
    evaluation_id: evaluationId,
    pim_request_id: `pim-${evaluationId}`,
    kind: 'entraRole',
    principal_id: ALEX,
    role_definition_id: 'r',
    scope: '/',
    justification: 'EMERGENCY: P1',
    incident: 'INC0013001',
    incident_priority: '1 - Critical',
    on_call_evidence: 'PagerDuty on call',
    granted_at: grantedAt.toISOString(),
    ends_at: new Date(grantedAt.getTime() + 3600_000).toISOString(),
    note: null,
    note_at: null,
    review_verdict: null,
    reviewer_id: null,
    reviewer_name: null,
    review_note: null,
    reviewed_at: null,
  });

  it('records a grant once per evaluation and counts the last 24 hours', async () => {
    const grants = store.emergencyGrants(() => at);
    expect((await grants.insertOnce(grant('e1'))).created).toBe(true);
    expect((await grants.insertOnce({ ...grant('e1'), id: 'another' })).created).toBe(false);
    await grants.insertOnce(grant('e0', new Date(at.getTime() - 25 * 3600_000)));
    expect(await grants.countSince(ALEX, new Date(at.getTime() - 24 * 3600_000))).toBe(1);
    expect(await grants.countSince(MEGAN, new Date(at.getTime() - 24 * 3600_000))).toBe(0);
  });

  it('takes the note from the requester only, once', async () => {
    const grants = store.emergencyGrants(() => at);
    await grants.insertOnce(grant('e1'));
    expect(await grants.recordNote('g-e1', MEGAN, 'not mine')).toMatchObject({ kind: 'not_requester' });
    expect(await grants.recordNote('g-e1', ALEX, '   ')).toMatchObject({ kind: 'note_required' });
    expect(await grants.recordNote('g-e1', ALEX.toUpperCase(), 'Restored access')).toMatchObject({ kind: 'recorded', row: { note: 'Restored access' } });
    expect(await grants.recordNote('g-e1', ALEX, 'Changed my mind')).toMatchObject({ kind: 'already', row: { note: 'Restored access' } });
    expect(await grants.recordNote('missing', ALEX, 'x')).toMatchObject({ kind: 'not_found' });
  });

  it('takes one review from someone other than the requester; a flag needs a note', async () => {
    const grants = store.emergencyGrants(() => at);
    await grants.insertOnce(grant('e1'));
    expect(await grants.recordReview('g-e1', { id: ALEX, name: 'Alex' }, 'looksRight', null)).toMatchObject({ kind: 'requester' });
    expect(await grants.recordReview('g-e1', { id: MEGAN, name: 'Megan' }, 'flag', ' ')).toMatchObject({ kind: 'note_required' });
    expect((await grants.unreviewed()).map((g) => g.id)).toEqual(['g-e1']);
    expect(await grants.recordReview('g-e1', { id: MEGAN, name: 'Megan' }, 'flag', 'No incident bridge')).toMatchObject({
      kind: 'recorded',
      row: { review_verdict: 'flag', reviewer_id: MEGAN, review_note: 'No incident bridge' },
    });
    expect(await grants.recordReview('g-e1', { id: 'someone-else', name: 'Adele' }, 'looksRight', null)).toMatchObject({
      kind: 'already',
      message: 'Megan already reviewed this grant (flagged).',
    });
    expect(await grants.unreviewed()).toEqual([]);
  });
});
