import type { Logger } from 'pino';
import { z } from 'zod';
import { decidersNow, parseDisplay } from '../approvals/request-display';
import { type ProvenUser, UserTokenError, type UserTokenVerifier } from '../auth/user-token';
import type { ActivationKind } from '../decision/activation-request';
import { type ApprovalDecisions, alreadyMessage, type DecisionOutcome, visibleLength } from '../jobs/decide';
import type { RequestStore } from '../store/requests';
import type { ApprovalRequestRow } from '../store/store';

/**
 * The PIM tab's API, Teams-free: who calls (the Teams SSO token the tab got from
 * `authentication.getAuthToken()`, verified like every user token the bot accepts), the requests awaiting the
 * caller's approval, the caller's own requests, and a decision from the tab, which goes through the card's own
 * decision flow (services/jobs/decide.ts): the same checks, the same claim, the same single PIM decision.
 * bot/http/tab-routes.ts turns these into HTTP answers.
 */

/** A refusal: HTTP status, stable code, a message saying what to fix, and extra body fields (the request's state). */
export class TabError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TabError';
  }
}

const KINDS: readonly ActivationKind[] = ['entraRole', 'group', 'azureResource'];
/** Pending rows are read this many at a time when looking for the caller's (PIM keeps a request 24 hours). */
const SCAN_PAGE = 500;

/**
 * The caller of a tab route: the `Authorization: Bearer` token must be a Teams SSO token for the bot (the
 * tenant's signature, issuer, audience = the bot's SSO resource, tenant, expiry). The caller is its `oid`:
 * the verifier binds the token to the `oid` it carries, which it checks only once the signature holds.
 */
export async function tabCaller(verify: UserTokenVerifier, authorization: string | undefined): Promise<{ user: ProvenUser; token: string }> {
  const fix = "Send the Teams SSO token from the tab's authentication.getAuthToken() as 'Authorization: Bearer <token>'.";
  if (!authorization) throw new TabError(401, 'token_missing', `No Authorization header. ${fix}`);
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(authorization);
  if (!match) throw new TabError(401, 'token_malformed', `The Authorization header is not a Bearer token. ${fix}`);
  const token = match[1]!;
  const claimedOid = unverifiedOid(token);
  if (!claimedOid) throw new TabError(401, 'token_malformed', `The token is not a JWT with an oid claim. ${fix}`);
  try {
    return { user: await verify(token, claimedOid), token };
  } catch (err) {
    if (!(err instanceof UserTokenError)) throw err;
    if (err.check === 'keys_unavailable') throw new TabError(503, 'token_keys_unavailable', `${err.message} Try again in a minute.`);
    const again = err.check === 'expired' ? ' Ask Teams for a fresh one (getAuthToken()) and retry.' : ` ${fix}`;
    throw new TabError(401, `token_${err.check}`, `${err.message}${again}`);
  }
}

/** The `oid` the token claims (read, not verified: the verifier checks the token is Entra's and carries it). */
function unverifiedOid(token: string): string | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { oid?: unknown };
    return typeof payload.oid === 'string' && payload.oid.length > 0 ? payload.oid : null;
  } catch {
    return null;
  }
}

/** `?limit=` (1 to 100, default 25) and `?cursor=` (the previous page's `nextCursor`). */
export const pageQuery = z.object({
  limit: z.coerce.number().int('limit must be a whole number').min(1, 'limit must be at least 1').max(100, 'limit is at most 100').default(25),
  cursor: z.string().max(400, 'cursor is too long').optional(),
});
export type PageQuery = z.infer<typeof pageQuery>;

/** Where a page starts: the last row of the previous page (created_at, id). */
interface PageCursor {
  at: string;
  id: string;
}

const cursorShape = z.object({ at: z.string().max(40), id: z.string().max(64) });

function encodeCursor(row: ApprovalRequestRow): string {
  return Buffer.from(JSON.stringify({ at: row.created_at, id: row.id })).toString('base64url');
}

function decodeCursor(cursor: string | undefined): PageCursor | null {
  if (cursor === undefined) return null;
  try {
    return cursorShape.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new TabError(400, 'bad_cursor', "cursor is not one this API returned: pass the previous page's nextCursor unchanged.", 'cursor');
  }
}

/** The decision body the tab sends. */
export const decisionBody = z
  .object({
    reviewResult: z.enum(['Approve', 'Deny'], { message: "reviewResult must be 'Approve' or 'Deny'" }),
    justification: z.string({ message: 'justification must be a string' }).max(2000, 'the justification is limited to 2000 characters'),
    version: z.number({ message: 'version must be the number the request was listed with' }).int().nonnegative(),
  })
  .strict();

export const requestIdParam = z.string().uuid('the request id must be the requestId a list returned');

function listOf(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

/**
 * The approval card's own server-written blocks for a request (identity risk, history with the role), in the
 * card's words; injected (they are the card's text, built in cards/), absent in tests that do not need them.
 */
export type CardBlocks = (row: ApprovalRequestRow, now: Date) => { identityRisk: unknown; history: unknown; checks: unknown[] };

/** A request awaiting the caller's approval: what the card shows an approver. */
export function approvalItem(row: ApprovalRequestRow, blocks?: ReturnType<CardBlocks>) {
  const d = parseDisplay(row);
  return {
    requestId: row.id,
    version: row.version,
    kind: row.kind,
    role: d.roleDisplayName,
    roleDefinitionId: row.role_definition_id,
    scope: row.scope,
    requester: {
      id: row.principal_id,
      name: d.requester.displayName,
      upn: d.requester.userPrincipalName,
      jobTitle: d.requester.jobTitle,
      department: d.requester.department,
    },
    justification: row.justification,
    duration: row.duration,
    durationMinutes: row.duration_minutes,
    ticket: row.ticket_number ? { system: row.ticket_system, number: row.ticket_number } : null,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    riskFlags: listOf(row.risk_flags),
    reasons: listOf(row.reasons),
    /** The pre-approval checks, one line each, in the card's words ({result, onFail, word, title, summary}). */
    checks: blocks?.checks ?? [],
    identityRisk: blocks?.identityRisk ?? null,
    history: blocks?.history ?? null,
    approverNames: d.approverNames ?? [],
  };
}

/** A request as its requester follows it: status, and who decided, when and why. */
export function requestItem(row: ApprovalRequestRow) {
  const d = parseDisplay(row);
  const decided = row.status === 'approved' || row.status === 'denied';
  return {
    requestId: row.id,
    version: row.version,
    kind: row.kind,
    role: d.roleDisplayName,
    roleDefinitionId: row.role_definition_id,
    scope: row.scope,
    status: row.status,
    justification: row.justification,
    duration: row.duration,
    durationMinutes: row.duration_minutes,
    ticket: row.ticket_number ? { system: row.ticket_system, number: row.ticket_number } : null,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decidedBy: decided && (row.decided_by_id || row.decided_by_name) ? { id: row.decided_by_id, name: row.decided_by_name, upn: row.decided_by_upn } : null,
    decidedAt: decided ? row.decided_at : null,
    decisionJustification: decided ? row.decision_justification : null,
  };
}

export interface TabApiDeps {
  requests: Pick<RequestStore, 'get' | 'pendingPage' | 'byPrincipalPage'>;
  decisions: Pick<ApprovalDecisions, 'handle'>;
  /** The shortest justification (visible characters) a decision is recorded with; the card's own rule. */
  minJustification: number;
  cardBlocks?: CardBlocks;
  now?: () => Date;
}

export class TabApi {
  private readonly now: () => Date;

  constructor(private readonly deps: TabApiDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Pending requests the caller may decide now (the card's rule: the approvers stored with the request, and
   * its escalation approvers once PIM's escalation time has passed), never their own; newest first. Every
   * pending request is read by keyset (PIM drops a request after 24 hours, so they are few), then paged here.
   */
  async awaiting(caller: string, page: PageQuery) {
    const me = caller.toLowerCase();
    const now = this.now();
    const before = decodeCursor(page.cursor);
    const mine: ApprovalRequestRow[] = [];
    for (const kind of KINDS) {
      let after: { createdAt: string; id: string } | null = null;
      for (;;) {
        const rows = await this.deps.requests.pendingPage(kind, after, SCAN_PAGE);
        for (const row of rows) {
          if (row.principal_id.toLowerCase() !== me && decidersNow(row, now).includes(me)) mine.push(row);
        }
        if (rows.length < SCAN_PAGE) break;
        const last = rows[rows.length - 1]!;
        after = { createdAt: last.created_at, id: last.id };
      }
    }
    const sorted = mine
      .sort((a, b) => (a.created_at === b.created_at ? b.id.localeCompare(a.id) : b.created_at.localeCompare(a.created_at)))
      .filter((r) => !before || r.created_at < before.at || (r.created_at === before.at && r.id < before.id));
    const items = sorted.slice(0, page.limit);
    return {
      items: items.map((row) => approvalItem(row, this.deps.cardBlocks?.(row, now))),
      nextCursor: sorted.length > page.limit ? encodeCursor(items[items.length - 1]!) : null,
    };
  }

  /** The caller's own requests, newest first, every status. */
  async mine(caller: string, page: PageQuery) {
    const rows = await this.deps.requests.byPrincipalPage(caller, decodeCursor(page.cursor), page.limit + 1);
    const items = rows.slice(0, page.limit);
    return { items: items.map(requestItem), nextCursor: rows.length > page.limit ? encodeCursor(items[items.length - 1]!) : null };
  }

  /**
   * A decision from the tab: the card's decision flow with the tab's token as the approver's proven sign-in
   * (on-behalf-of for PIM starts from it). Resolves with the recorded state; throws TabError otherwise.
   */
  async decide(caller: { user: ProvenUser; token: string }, requestId: string, input: unknown, log: Logger) {
    const id = requestIdParam.safeParse(requestId);
    if (!id.success) throw new TabError(400, 'bad_request_id', id.error.issues[0]!.message, 'requestId');
    const parsed = decisionBody.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || undefined;
      throw new TabError(400, 'invalid_body', `${field ? `${field}: ` : ''}${issue.message}`, field);
    }
    const body = parsed.data;
    const justification = body.justification.trim();
    if (visibleLength(justification) < this.deps.minJustification) {
      throw new TabError(
        400,
        'justification_too_short',
        `Add a justification of at least ${this.deps.minJustification} characters: it is recorded in PIM with your decision.`,
        'justification',
      );
    }
    const row = await this.deps.requests.get(id.data);
    if (!row) throw new TabError(404, 'unknown_request', 'The bot knows no request with this id.');
    const me = caller.user.oid;
    if (row.status !== 'pending') {
      const code = row.status === 'recording' ? 'decision_in_progress' : 'already_decided';
      throw new TabError(409, code, alreadyMessage(row), undefined, { request: requestItem(row) });
    }
    if (row.version !== body.version) {
      throw new TabError(409, 'stale_version', 'The request changed since it was listed: reload it and decide again.', 'version', {
        request: requestItem(row),
      });
    }
    const outcome = await this.deps.decisions.handle({
      verb: body.reviewResult === 'Approve' ? 'approve' : 'deny',
      requestId: row.id,
      justification,
      actorId: me,
      signIn: async () => ({ kind: 'proven', token: caller.token, user: caller.user }),
      log: log.child({ requestId: row.id, approverId: me, verb: body.reviewResult, via: 'tab' }),
      via: 'tab',
    });
    return answerOf(outcome, me);
  }
}

/** What a message of the decision flow that leaves the request pending means for the tab. */
const PENDING_REFUSALS: Array<{ starts: string; status: number; code: string }> = [
  { starts: 'PIM does not list you', status: 403, code: 'not_an_approver' },
  { starts: 'PIM refused your decision', status: 403, code: 'pim_refused' },
  { starts: 'PIM rejected the decision', status: 502, code: 'pim_rejected' },
  { starts: 'The bot could not read the approver list', status: 503, code: 'approvers_unavailable' },
];

/** The decision flow's outcome as the tab's answer: the recorded (or recording) state, or a TabError. */
function answerOf(outcome: DecisionOutcome, me: string) {
  switch (outcome.kind) {
    case 'refused':
      throw new TabError(404, 'unknown_request', outcome.message);
    case 'identityRefused':
    case 'signInRequired':
      throw new TabError(401, 'token_account', 'The token does not prove the caller; nothing was recorded.');
    case 'card':
      break;
    default:
      throw new Error('unreachable');
  }
  const row = outcome.row;
  const request = requestItem(row);
  if ((row.status === 'approved' || row.status === 'denied') && row.decided_by_id?.toLowerCase() === me) {
    return { status: 200, body: { result: row.status, message: `Recorded in PIM: you ${row.status} this request.`, request } };
  }
  if (row.status === 'recording' && row.claimed_by === me) {
    return { status: 202, body: { result: 'recording', message: outcome.message ?? 'Recording your decision in PIM.', request } };
  }
  if (row.status !== 'pending') {
    const code = row.status === 'recording' ? 'decision_in_progress' : 'already_decided';
    throw new TabError(409, code, outcome.message ?? alreadyMessage(row), undefined, { request });
  }
  const message = outcome.message ?? 'Nothing was recorded.';
  if (row.principal_id.toLowerCase() === me) throw new TabError(403, 'self_approval', message, undefined, { request });
  if (outcome.view === 'observer') throw new TabError(403, 'not_an_approver', message, undefined, { request });
  const known = PENDING_REFUSALS.find((r) => message.startsWith(r.starts));
  throw new TabError(known?.status ?? 503, known?.code ?? 'not_recorded', message, undefined, { request });
}
