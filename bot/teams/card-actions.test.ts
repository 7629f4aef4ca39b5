import fs from 'node:fs';
import path from 'node:path';
import type { TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { ApprovalVerb, renderApprovalCard } from '../../cards/approval-card';
import {
  ChatVerb,
  renderActivationForm,
  renderCancelChooser,
  renderReRequestNotice,
  renderRequestStatus,
  renderRoleChooser,
  type RequestState,
} from '../../cards/chat';
import { AuditVerb, DigestVerb, renderAdminDigestCards, renderUserDigestCard } from '../../cards/digest';
import { ExtensionVerb, renderExtensionCard } from '../../cards/extension';
import { EmergencyVerb, renderBreakGlassCard, renderEmergencyNoteCard, renderEmergencyReviewCard } from '../../cards/emergency/emergency-cards';
import { renderSummaryCard } from '../../cards/summary/summary-card';
import type { CardActionHandler } from '../../services/observability/metrics';
import { CARD_VERBS, type CardActionHandlers, cardActionRegistry, type CardVerb, createCardActions } from './card-actions';
import type { InvokeBody } from './invoke-answers';

const CARDS_DIR = path.join(__dirname, '..', '..', 'cards');
const VERB_GROUPS: Record<string, Record<string, string>> = { ApprovalVerb, ChatVerb, DigestVerb, AuditVerb, ExtensionVerb, EmergencyVerb };

/** A handler stub per kind that answers with the verb it was given. */
function stubHandlers(calls: Array<[string, string]>): CardActionHandlers {
  const answer =
    (handler: string) =>
    async (_ctx: TurnContext, verb: string): Promise<InvokeBody> => {
      calls.push([handler, verb]);
      return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: `${handler}:${verb}` };
    };
  return {
    approval: { handle: answer('approval') },
    chat: { onAction: answer('chat') },
    digest: { handle: answer('digest') },
    extension: { handle: answer('extension') },
    emergency: { handle: answer('emergency') },
  };
}

const invoke = (value: unknown) => ({ activity: { type: 'invoke', name: 'adaptiveCard/action', value } }) as unknown as TurnContext;
const execute = (verb: unknown) => invoke({ action: { type: 'Action.Execute', verb, data: { requestId: '5b3f1c2e-0000-4000-8000-000000000001' } } });

function harness(handlers?: CardActionHandlers) {
  const calls: Array<[string, string]> = [];
  const warnings: unknown[][] = [];
  const errors: unknown[][] = [];
  const counted: Array<[CardActionHandler, number]> = [];
  const log = { warn: (...args: unknown[]) => warnings.push(args), error: (...args: unknown[]) => errors.push(args) } as unknown as Logger;
  const answer = createCardActions(cardActionRegistry(handlers ?? stubHandlers(calls)), {
    log,
    metrics: { cardAction: (handler, status) => counted.push([handler, status]) },
  });
  return { answer, calls, warnings, errors, counted };
}

describe('the card-action registry', () => {
  it('has one route per card verb and no other', () => {
    const registry = cardActionRegistry(stubHandlers([]));
    expect(new Set(CARD_VERBS).size).toBe(CARD_VERBS.length);
    expect(Object.keys(registry).sort()).toEqual([...CARD_VERBS].sort());
  });

  const ROUTES: Array<[CardVerb, CardActionHandler]> = [
    ...Object.values(ApprovalVerb).map((v): [CardVerb, CardActionHandler] => [v, 'approval']),
    ...Object.values(ChatVerb).map((v): [CardVerb, CardActionHandler] => [v, 'chat']),
    ...Object.values(DigestVerb).map((v): [CardVerb, CardActionHandler] => [v, 'digest']),
    ...Object.values(AuditVerb).map((v): [CardVerb, CardActionHandler] => [v, 'digest']),
    ...Object.values(EmergencyVerb).map((v): [CardVerb, CardActionHandler] => [v, 'emergency']),
  ];
  it.each(ROUTES)('routes %s to the %s handler with its verb', async (verb, handler) => {
    const h = harness();
    const body = await h.answer(execute(verb));
    expect(h.calls).toEqual([[handler, verb]]);
    expect(body).toEqual({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: `${handler}:${verb}` });
    expect(h.counted).toEqual([[handler, 200]]);
    expect(h.warnings).toEqual([]);
  });

  it.each([
    'pim.approveAll',
    'PIM.APPROVE',
    'pim.approve ',
    'pim.approve\u200b',
    'chat.bogus',
    'digest.',
    'review.ok',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
  ])('refuses the unknown verb %j with a 400 naming it, one warning, and no handler', async (verb) => {
    const h = harness();
    const body = await h.answer(execute(verb));
    expect(body).toEqual({
      statusCode: 400,
      type: 'application/vnd.microsoft.error',
      value: { code: '400', message: `Unknown card action '${verb}': this bot has no such action, so nothing was done.` },
    });
    expect(h.calls).toEqual([]);
    expect(h.warnings).toHaveLength(1);
    expect(h.warnings[0]![0]).toMatchObject({ verb });
    expect(h.counted).toEqual([['unknown', 400]]);
  });

  it('clips a long unknown verb in the answer and the log', async () => {
    const h = harness();
    const verb = `pim.${'x'.repeat(200)}`;
    const body = await h.answer(execute(verb));
    expect((body.value as { message: string }).message).toContain(`'${verb.slice(0, 64)}'`);
    expect((body.value as { message: string }).message).not.toContain(verb.slice(0, 65));
    expect(h.warnings[0]![0]).toMatchObject({ verb: verb.slice(0, 64) });
  });

  it.each([
    ['a verb that is no text', execute(42)],
    ['an empty verb', execute('')],
    ['a verb in an array', execute(['pim.approve'])],
    ['no action', invoke({})],
    ['no value', invoke(undefined)],
    ['a value that is no object', invoke('pim.approve')],
  ])('refuses %s with a 400 and one warning', async (_name, ctx) => {
    const h = harness();
    const body = await h.answer(ctx);
    expect(body).toMatchObject({
      statusCode: 400,
      type: 'application/vnd.microsoft.error',
      value: { code: '400', message: expect.stringMatching(/no action the bot knows/) },
    });
    expect(h.calls).toEqual([]);
    expect(h.warnings).toHaveLength(1);
    expect(h.counted).toEqual([['unknown', 400]]);
  });

  it('answers a handler that throws with a 500 and logs it', async () => {
    const failing = stubHandlers([]);
    failing.chat = {
      onAction: async () => {
        throw new Error('database gone');
      },
    };
    const h = harness(failing);
    const body = await h.answer(execute(ChatVerb.Submit));
    expect(body).toEqual({
      statusCode: 500,
      type: 'application/vnd.microsoft.error',
      value: { code: '500', message: 'The bot hit an error; nothing was recorded. Try again.' },
    });
    expect(h.errors).toHaveLength(1);
    expect(h.counted).toEqual([['chat', 500]]);
  });
});

// --- the verbs on our cards ------------------------------------------------------------------------

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'schema' ? [] : filesUnder(full);
    return [full];
  });
}

/** Every `verb` value in a JSON value, at any depth. */
function verbValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(verbValues);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => (key === 'verb' && typeof child === 'string' ? [child] : verbValues(child)));
}

/**
 * The verbs the card templates and renderers in cards/ name. `used`: literal `"verb"` values in
 * templates, `verb: '...'` in renderers, and verb constants renderers bind (`ChatVerb.Submit`); a
 * template's `${...}` verbs are bound by its renderer from those constants (the rendered cards are checked
 * too). `verbLike`: any quoted `prefix.name` string in a renderer, such as a verb constant's own value, so a verb
 * with a new prefix defined anywhere in cards/ is seen.
 */
function verbsNamedInCards(): { used: Map<string, string[]>; verbLike: Map<string, string[]>; unresolved: string[] } {
  const used = new Map<string, string[]>();
  const verbLike = new Map<string, string[]>();
  const unresolved: string[] = [];
  const add = (to: Map<string, string[]>, verb: string, where: string) => to.set(verb, [...(to.get(verb) ?? []), where]);
  for (const file of filesUnder(CARDS_DIR)) {
    const where = path.relative(CARDS_DIR, file);
    const text = fs.readFileSync(file, 'utf8');
    if (file.endsWith('.json')) {
      for (const v of verbValues(JSON.parse(text))) if (!v.includes('${')) add(used, v, where);
      continue;
    }
    if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file.endsWith('test-support.ts')) continue;
    for (const m of text.matchAll(/\bverb:\s*(['"])([^'"$]+)\1\s*[,}\n]/g)) add(used, m[2]!, where);
    for (const m of text.matchAll(/\b([A-Z]\w*Verb)\.([A-Z]\w*)\b/g)) {
      const value = VERB_GROUPS[m[1]!]?.[m[2]!];
      if (value === undefined) unresolved.push(`${m[0]} in ${where}`);
      else add(used, value, where);
    }
    for (const m of text.matchAll(/(['"])([a-z][a-zA-Z]*\.[a-z][a-zA-Z]*)\1/g)) add(verbLike, m[2]!, where);
  }
  return { used, verbLike, unresolved };
}

const NOW = new Date('2026-11-23T08:00:00Z');
const REQUEST_ID = '5b3f1c2e-0000-4000-8000-000000000001';

/** Each card with its buttons showing: approval (pending, approver), summary, chat cards in every state, digests. */
function renderedCards(): Array<[string, unknown]> {
  const approvalData = (): Parameters<typeof renderApprovalCard>[0] => ({
    requestId: REQUEST_ID,
    version: 1,
    requester: { displayName: 'Adele Vance', userPrincipalName: 'adelev@contoso.com' },
    role: { displayName: 'Security Operator', scope: 'Directory', kind: 'entraRole' },
    durationText: '2 hours',
    windowText: 'now',
    justification: 'Investigating INC0012345',
    riskFlags: [],
    decisionReasons: [],
    expiresText: '23 h left',
    status: 'pending',
  });
  const approval = renderApprovalCard(approvalData(), 'approver');
  // The requester's own view carries their "Remind approvers".
  const requesterView = renderApprovalCard(approvalData(), 'requester');
  const summary = renderSummaryCard({
    entries: [
      {
        requestId: REQUEST_ID,
        version: 1,
        requesterName: 'Adele Vance',
        requesterUpn: null,
        roleName: 'Security Operator',
        scope: null,
        requestedAt: NOW.toISOString(),
      },
    ],
    part: 1,
    parts: 1,
    batchTotal: 1,
    now: NOW,
  });
  const chooser = renderRoleChooser({ draftId: 'd1', choices: [{ key: 'entraRole|r|/', title: 'Security Operator' }] });
  const form = renderActivationForm({
    draftId: 'd1',
    target: { key: 'entraRole|r|/', title: 'Security Operator', kind: 'entraRole' },
    policy: {
      maximumMinutes: 240,
      justificationRequired: true,
      ticketRequired: false,
      mfaRequired: false,
      authenticationContext: null,
      approvalRequired: true,
      approverIds: ['a1'],
      approverNames: ['Megan Bowen'],
    },
    values: { durationMinutes: 60, ticketSystem: null, ticketNumber: null, justification: null },
    problems: [],
    mode: 'form',
  });
  const states: RequestState[] = ['submitting', 'pending', 'approved', 'active', 'ended', 'denied', 'expired', 'cancelled', 'failed'];
  const statuses = states.map(
    (state) =>
      [
        `request status (${state})`,
        renderRequestStatus({
          chatRequestId: 'c1',
          roleTitle: 'Security Operator',
          durationMinutes: 60,
          ticket: null,
          justification: null,
          state,
          approverNames: ['Megan Bowen'],
          updatedAt: NOW.toISOString(),
        }),
      ] as [string, unknown],
  );
  const notice = renderReRequestNotice({ text: 'Your request expired.', requestId: REQUEST_ID });
  const userDigest = renderUserDigestCard({
    digest: {
      principalId: 'u1',
      timeZone: 'UTC',
      date: '2026-11-23',
      generatedAt: NOW.toISOString(),
      ending: [
        {
          kind: 'entraRole',
          roleDefinitionId: 'r',
          scope: '/',
          assignment: 'eligible',
          endDateTime: '2026-12-02T08:00:00Z',
          daysLeft: 9,
          extend: 'selfExtend',
        },
      ],
      endingToday: [],
      expired: [{ kind: 'entraRole', roleDefinitionId: 'x', scope: '/', endedAt: '2026-11-20T08:00:00Z', renew: 'selfRenew' }],
    },
    targetNames: new Map(),
  });
  const adminDigests = renderAdminDigestCards({
    digest: {
      date: '2026-11-23',
      timeZone: 'UTC',
      generatedAt: NOW.toISOString(),
      expiringThisWeek: { total: 0, until: '2026-11-29T23:00:00.000Z', targets: [] },
      dormant: { days: 30, total: 0, targets: [], oldest: [] },
      permanentPrivileged: { total: 0, items: [] },
      pending: { total: 0, items: [] },
      spotAudit: {
        date: '2026-11-22',
        approvals: 1,
        rate: 0.1,
        sample: [
          {
            requestId: REQUEST_ID,
            pimRequestId: 'pim-1',
            kind: 'entraRole',
            roleDefinitionId: 'r',
            scope: '/',
            principalId: 'alex',
            approvedById: 'megan',
            approvedByName: 'Megan Bowen',
            approvedAt: '2026-11-22T15:00:00Z',
            justification: 'Investigating INC0012345',
            decisionJustification: 'Matches the incident',
            ticket: null,
            reviews: [],
          },
        ],
      },
      flags: [],
    },
    names: { users: new Map(), targets: new Map() },
  });
  return [
    ['approval card', approval],
    ['approval card, requester view', requesterView],
    ['summary card', summary],
    ['role chooser', chooser],
    [
      'cancel chooser',
      renderCancelChooser({
        choices: [{ roleTitle: 'Security Operator', scopeText: null, statusText: 'waiting for approval', requestedAt: NOW.toISOString(), chatRequestId: 'c1' }],
        timeZone: 'UTC',
      }),
    ],
    ['activation form', form],
    ...statuses,
    ['re-request notice', notice],
    ['user digest', userDigest],
    ...adminDigests.map((c, i) => [`admin digest ${i + 1}`, c] as [string, unknown]),
    [
      'extension card',
      renderExtensionCard({
        askId: REQUEST_ID,
        action: 'extend',
        assignment: 'eligible',
        requester: 'Alex Wilber (alexw@contoso.com)',
        target: 'Security Operator',
        scope: null,
        currentEnd: NOW.toISOString(),
        requestedEnd: null,
        reason: null,
        activations90d: null,
        hr: null,
        risk: null,
        whoCan: 'Privileged Role Administrators and Global Administrators',
        defaultEnd: '2027-02-21',
        minEnd: '2026-11-24',
        state: { kind: 'open' },
      }),
    ],
    ...emergencyCards(),
  ];
}

/** The break-glass cards: the broadcast (no buttons), the note asked of the requester, the review list. */
function emergencyCards(): Array<[string, unknown]> {
  const grant = {
    grantId: REQUEST_ID,
    requester: 'Alex Wilber (alexw@contoso.com)',
    role: 'Security Operator',
    incident: 'INC0013001 (priority 1 - Critical)',
    onCall: 'PagerDuty on call',
    justification: 'EMERGENCY: P1 sign-in outage',
    grantedAt: NOW.toISOString(),
    endsAt: '2026-11-23T10:00:00Z',
    durationMinutes: 120,
  };
  return [
    ['break-glass broadcast', renderBreakGlassCard(grant)],
    ['break-glass note', renderEmergencyNoteCard({ grantId: REQUEST_ID, role: 'Security Operator', incident: 'INC0013001', endedAt: grant.endsAt })],
    ['break-glass review', renderEmergencyReviewCard({ entries: [{ ...grant, note: null, overdue: false, reviewBy: grant.endsAt }], reviewWithinHours: 24 })],
  ];
}

describe('the verbs on our cards', () => {
  const registered = new Set<string>(CARD_VERBS);

  it('are all registered: every verb the card templates and renderers name has a route', () => {
    const { used, verbLike, unresolved } = verbsNamedInCards();
    expect(unresolved).toEqual([]);
    expect(used.size).toBeGreaterThan(0);
    const missing = [...used, ...verbLike].filter(([verb]) => !registered.has(verb)).map(([verb, where]) => `${verb} (${where.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('are all registered: every verb on a rendered card has a route', () => {
    for (const [name, card] of renderedCards()) {
      const verbs = verbValues(card);
      expect(verbs.some((v) => v.includes('${'))).toBe(false);
      expect({ card: name, unregistered: verbs.filter((v) => !registered.has(v)) }).toEqual({ card: name, unregistered: [] });
    }
  });

  it('cover every route: no registered verb is missing from the cards (a dead entry)', () => {
    const { used } = verbsNamedInCards();
    const onRenderedCards = new Set(renderedCards().flatMap(([, card]) => verbValues(card)));
    const dead = (CARD_VERBS as readonly CardVerb[]).filter((verb) => !used.has(verb) || !onRenderedCards.has(verb));
    expect(dead).toEqual([]);
  });
});
