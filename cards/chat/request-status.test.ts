import { validateAdaptiveCard } from '../validate-card';
import { ChatVerb, renderRequestStatus, type RequestState, type RequestStatusData } from './index';
import { HOSTILE, carriersOf, executes, inputs, textBlocks, textRuns } from '../../test/support/card-json';

const STATES: RequestState[] = ['submitting', 'pending', 'approved', 'active', 'ended', 'denied', 'expired', 'cancelled', 'failed'];
const CLOSED: RequestState[] = ['denied', 'expired', 'ended', 'cancelled', 'failed'];

const DECISION = { byName: 'Megan Bowen', at: '2026-11-23T13:05:00Z', justification: 'Matches the open incident.' };

function request(overrides: Partial<RequestStatusData> = {}): RequestStatusData {
  return {
    chatRequestId: 'chat-42',
    roleTitle: 'Security Operator',
    durationMinutes: 120,
    ticket: { system: 'ServiceNow', number: 'INC0012345' },
    justification: 'Investigating INC0012345.',
    state: 'pending',
    approverNames: ['Megan Bowen', 'Patti Fernandez'],
    decision: null,
    decisionService: null,
    activeFrom: null,
    activeUntil: null,
    endedAt: null,
    message: null,
    pimRequestId: null,
    timeZone: 'Europe/Berlin',
    updatedAt: '2026-11-23T13:06:00Z',
    ...overrides,
  };
}

/** A plausible card for each state: what the chat handlers would know at that point. */
function inState(state: RequestState): RequestStatusData {
  switch (state) {
    case 'approved':
      return request({ state, decision: DECISION });
    case 'active':
      return request({ state, decision: DECISION, activeFrom: '2026-11-23T13:06:00Z', activeUntil: '2026-11-23T15:06:00Z' });
    case 'ended':
      return request({ state, decision: DECISION, activeUntil: '2026-11-23T15:06:00Z', endedAt: '2026-11-23T14:30:00Z' });
    case 'denied':
      return request({ state, decision: { ...DECISION, justification: 'No incident on record.' } });
    case 'failed':
      return request({
        state,
        message: 'PIM refused the request: RoleAssignmentRequestPolicyValidationFailed. Request id 7d1c. Try a shorter duration.',
      });
    default:
      return request({ state });
  }
}

const headline = (card: unknown): string => textRuns(card)[0];
const details = (card: unknown): string => textRuns(card).slice(1).join('\n');

describe('request status card', () => {
  test.each(STATES)('a %s request renders a valid 1.5 card without inputs', (state) => {
    const card = renderRequestStatus(inState(state));
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(card.version).toBe('1.5');
    expect(inputs(card)).toEqual([]);
    expect(JSON.stringify(card)).not.toContain('${');
  });

  describe('actions', () => {
    test('a pending request can be cancelled or its approvers reminded, with the chat request id only', () => {
      const card = renderRequestStatus(inState('pending'));
      expect(executes(card).map((a) => [a.title, a.verb, a.data])).toEqual([
        ['Remind approvers', ChatVerb.Remind, { chatRequestId: 'chat-42' }],
        ['Cancel request', ChatVerb.CancelRequest, { chatRequestId: 'chat-42' }],
      ]);
    });

    test.each(CLOSED)('a %s request can be requested again, with the chat request id only', (state) => {
      const card = renderRequestStatus(inState(state));
      expect(executes(card).map((a) => [a.title, a.verb, a.data])).toEqual([['Request again', ChatVerb.Again, { chatRequestId: 'chat-42' }]]);
    });

    test('an active request offers to end it now', () => {
      const card = renderRequestStatus(inState('active'));
      expect(executes(card).map((a) => [a.title, a.verb, a.data])).toEqual([['End now', ChatVerb.EndNow, { chatRequestId: 'chat-42' }]]);
    });

    test.each(['submitting', 'approved'] as const)('a %s request has no buttons', (state) => {
      const card = renderRequestStatus(inState(state));
      expect(executes(card)).toEqual([]);
      expect(card).not.toHaveProperty('actions');
    });
  });

  describe('what the requester reads', () => {
    test('pending: waiting for approval, and who can approve', () => {
      const card = renderRequestStatus(inState('pending'));
      expect(headline(card)).toBe('Waiting for approval');
      expect(details(card)).toContain('Approvers: Megan Bowen, Patti Fernandez');
      const none = renderRequestStatus(request({ approverNames: [] }));
      expect(details(none)).toContain('Approvers: any approver of the role');
    });

    test("approved: by whom, when in the user's zone, why, and that PIM is activating", () => {
      const card = renderRequestStatus(inState('approved'));
      expect(headline(card)).toBe('Approved');
      expect(details(card)).toContain('Approved by Megan Bowen at Mon 23 Nov, 14:05 CET: “Matches the open incident.” PIM is activating the role.');
    });

    test('active after a human approval: until when, and by whom', () => {
      const card = renderRequestStatus(inState('active'));
      expect(headline(card)).toBe('Active until Mon 23 Nov, 16:06 CET');
      expect(details(card)).toContain('Approved by Megan Bowen at Mon 23 Nov, 14:05 CET: “Matches the open incident.”');
    });

    test("active after the organisation's decision service approved it: why no human was asked", () => {
      const card = renderRequestStatus(
        request({
          state: 'active',
          activeUntil: '2026-11-23T15:06:00Z',
          decisionService: { outcome: 'AutoApproved', reasons: ['Ticket INC0012345 is open and assigned to you', 'You are on call'] },
        }),
      );
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(details(card)).toContain(
        "Approved automatically by your organisation's decision service: Ticket INC0012345 is open and assigned to you; You are on call.",
      );
      expect(details(card)).not.toContain('Megan');
    });

    test('active on a role whose policy needs no approval says so', () => {
      const card = renderRequestStatus(request({ state: 'active', approverNames: [], activeUntil: '2026-11-23T15:06:00Z' }));
      expect(details(card)).toContain("Activated without approval (the role's policy needs none).");
    });

    test('active after an approval the bot could not see does not claim none was needed', () => {
      const card = renderRequestStatus(request({ state: 'active', activeUntil: '2026-11-23T15:06:00Z' }));
      expect(details(card)).toContain('Approved in PIM, outside this chat.');
      expect(details(card)).not.toContain('without approval');
    });

    test('ended: when', () => {
      // Ended before its time (End now, "done <role>"): said so.
      expect(headline(renderRequestStatus(inState('ended')))).toBe('Ended early at Mon 23 Nov, 15:30 CET');
      // Ran its course.
      expect(headline(renderRequestStatus({ ...inState('ended'), endedAt: '2026-11-23T15:06:00Z' }))).toBe('Ended at Mon 23 Nov, 16:06 CET');
    });

    test('denied by a person: by whom, when and why', () => {
      const card = renderRequestStatus(inState('denied'));
      expect(headline(card)).toBe('Denied');
      expect(details(card)).toContain('Denied by Megan Bowen at Mon 23 Nov, 14:05 CET: “No incident on record.”');
    });

    test("denied by the organisation's decision service: why", () => {
      const card = renderRequestStatus(
        request({ state: 'denied', decisionService: { outcome: 'Denied', reasons: ['You already hold this role', 'No open ticket'] } }),
      );
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(details(card)).toContain("Denied by your organisation's decision service: You already hold this role; No open ticket.");
      expect(executes(card).map((a) => a.verb)).toEqual([ChatVerb.Again]);
    });

    test("expired: nobody decided within PIM's 24 hours", () => {
      const card = renderRequestStatus(inState('expired'));
      expect(headline(card)).toBe('Expired');
      expect(details(card)).toContain("Expired: no approver decided within PIM's 24 hours.");
    });

    test('cancelled', () => {
      expect(headline(renderRequestStatus(inState('cancelled')))).toBe('Cancelled');
    });

    test("failed: what went wrong and what to do, with Graph's message and the PIM request id", () => {
      const card = renderRequestStatus({ ...inState('failed'), pimRequestId: 'a1b2c3' });
      expect(headline(card)).toBe('Failed');
      expect(textRuns(card)).toContain('PIM refused the request: RoleAssignmentRequestPolicyValidationFailed. Request id 7d1c. Try a shorter duration.');
      expect(textRuns(card).at(-1)).toBe('Updated Mon 23 Nov, 14:06 CET · PIM request a1b2c3');
    });

    test('failed without a message still says what to do', () => {
      const card = renderRequestStatus(request({ state: 'failed' }));
      expect(textRuns(card)).toContain('Something went wrong. Try again, or ask your PIM administrator.');
    });

    test.each(STATES)("a %s card says its state in a bold headline in the text colour, on the state's container style", (state) => {
      const header = renderRequestStatus(inState(state)).body[0] as { style: string; items: Array<{ inlines: Array<Record<string, unknown>> }> };
      // Teams' warning, good and attention text colours fail contrast on their own container styles.
      expect(header.items[0].inlines[0]).not.toHaveProperty('color');
      expect(header.items[0].inlines[0]).toMatchObject({ weight: 'Bolder' });
      expect(header.style).toBe(
        {
          submitting: 'default',
          pending: 'warning',
          approved: 'good',
          active: 'good',
          ended: 'emphasis',
          denied: 'attention',
          expired: 'warning',
          cancelled: 'emphasis',
          failed: 'attention',
        }[state],
      );
    });
  });

  describe('facts', () => {
    test('role, duration, ticket and justification, then when the card was updated', () => {
      const runs = textRuns(renderRequestStatus(inState('pending')));
      expect(runs).toEqual(
        expect.arrayContaining(['Security Operator', '2 h', 'ServiceNow INC0012345', 'Investigating INC0012345.', 'Updated Mon 23 Nov, 14:06 CET']),
      );
      expect(textBlocks(renderRequestStatus(inState('pending')))).toEqual(['Role', 'Duration', 'Ticket', 'Justification']);
    });

    test('a request without ticket or justification leaves those rows out', () => {
      const card = renderRequestStatus(request({ ticket: null, justification: null }));
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(textBlocks(card)).toEqual(['Role', 'Duration']);
    });

    test('times default to UTC, and an unknown zone falls back to UTC', () => {
      for (const timeZone of [null, undefined, 'Not/AZone']) {
        const card = renderRequestStatus({ ...inState('active'), timeZone });
        expect(headline(card)).toBe('Active until Mon 23 Nov, 15:06 UTC');
      }
    });
  });

  describe('user text is shown literally and never as markdown', () => {
    const hostile: Partial<RequestStatusData> = {
      roleTitle: HOSTILE,
      justification: HOSTILE,
      ticket: { system: HOSTILE, number: HOSTILE },
      approverNames: [HOSTILE],
      decision: { byName: HOSTILE, at: '2026-11-23T13:05:00Z', justification: HOSTILE },
      decisionService: null,
      message: HOSTILE,
      pimRequestId: HOSTILE,
    };

    test.each(STATES)('in a %s card', (state) => {
      const card = renderRequestStatus(request({ ...hostile, state, activeUntil: '2026-11-23T15:06:00Z' }));
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(textRuns(card)).toContain(HOSTILE);
      expect(textBlocks(card).join('\n')).not.toContain('evil.example');
      expect(carriersOf(card, 'evil.example')).toEqual([]);
      expect(carriersOf(card, '<at>')).toEqual([]);
      for (const action of executes(card)) expect(action.data).toStrictEqual({ chatRequestId: 'chat-42' });
    });

    test("in the decision service's reasons", () => {
      const card = renderRequestStatus(request({ state: 'denied', decisionService: { outcome: 'Denied', reasons: [HOSTILE] } }));
      expect(textRuns(card).join('\n')).toContain(HOSTILE);
      expect(carriersOf(card, 'evil.example')).toEqual([]);
    });

    test('bidi overrides cannot disguise a name', () => {
      const card = renderRequestStatus(request({ state: 'denied', decision: { ...DECISION, byName: 'Eve \u202Edevorppa\u202C' } }));
      expect(JSON.stringify(card)).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
      expect(details(card)).toContain('Denied by Eve devorppa at');
    });

    test('long text is cut, and the card stays far below the Teams limit', () => {
      const long = 'ab🙂 '.repeat(1000);
      const card = renderRequestStatus(
        request({
          state: 'denied',
          roleTitle: long,
          justification: long,
          ticket: { system: long, number: long },
          decision: { byName: long, at: '2026-11-23T13:05:00Z', justification: long },
          message: long,
          pimRequestId: long,
          approverNames: Array.from({ length: 50 }, () => long),
        }),
      );
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(Buffer.byteLength(JSON.stringify(card), 'utf8')).toBeLessThan(14 * 1024);
      expect(JSON.stringify(card)).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    });
  });
});
