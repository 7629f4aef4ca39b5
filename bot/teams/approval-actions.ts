import type { TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ApprovalVerb, type ApprovalVerbName, renderApprovalCard } from '../../cards/approval-card';
import { recoverClaim } from '../../services/approvals/claim-recovery';
import { assertNever, closingEvent, transition } from '../../services/approvals/request-lifecycle';
import type { Directory } from '../../services/graph/directory';
import { GraphCallError } from '../../services/graph/graph-errors';
import type { ApprovalStep, PimApprovals } from '../../services/graph/pim-approvals';
import type { ApprovalRequestRow, Store } from '../../services/store/store';
import { cardDecisionEntry, graphResultEntry } from '../../services/audit/entries';
import { cardDataOf, viewFor } from '../../cards/approval-view';
import { claimReleaseOf, parseDisplay, refOf } from '../../services/approvals/request-display';
import { tellApproverNotRecorded } from '../../services/jobs/claim-release';
import { identityRefusalLog, type ProvenToken, type SsoResult } from './approver-token';
import type { CardDelivery } from '../../services/jobs/card-delivery';
import { errInfo } from '../../services/observability/err-info';
import { cardAnswer, errorAnswer, type InvokeBody } from './invoke-answers';

export interface ApprovalActionDeps {
  store: Store;
  directory: Directory;
  delivery: CardDelivery;
  /**
   * The approver's SSO token with the identity it proves (`oid` = the activity's `from.aadObjectId`, `tid`
   * = the bot's tenant), the invoke response that asks them to sign in, or the refusal of a token that
   * proves someone else.
   */
  ssoToken(ctx: TurnContext): Promise<SsoResult>;
  /** PIM approval calls for this request (Entra role, group or Azure resource) made as the approver whose SSO token is given. */
  pimAs(ssoToken: string, row: ApprovalRequestRow): PimApprovals;
  minJustification: number;
  /** How long an approver's click waits for PIM before answering with the card's "recording" state. */
  invokeBudgetMs?: number;
  log: Logger;
  now?: () => Date;
}

/** What Graph (or ARM) said when a decision could not be recorded; null status when PIM was not called. */
interface GraphAnswer {
  status: number | null;
  code?: string | null;
  graphRequestId?: string | null;
}

/**
 * Failures after which PIM may have applied the PATCH although the bot never saw its answer: a timeout,
 * a lost connection, a 5xx, or throttling that outlasted the retries.
 */
function isAmbiguous(e: GraphCallError | null): boolean {
  if (!e) return false;
  return e.status >= 500 || e.status === 408 || e.status === 429;
}

/** The approver's token, and PIM's approval steps being read as them; or why there is no token to act with. */
type ApproverProof = { sso: Exclude<SsoResult, ProvenToken>; pim: null } | { sso: ProvenToken; pim: PimApprovals; steps: Promise<ApprovalStep[]> };

/** A promise's outcome as a value: awaited later, a failure is no unhandled rejection meanwhile. */
function settled<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** Teams gives an invoke about 15 seconds; the card must answer well before. */
const INVOKE_BUDGET_MS = 8_000;

/** Card action data: ids and a version only. Everything else is reloaded from our store and PIM. */
const actionData = z
  .object({
    requestId: z.string().uuid('requestId must be the request id the card was rendered with'),
    version: z.coerce.number().int().nonnegative().optional(),
    decisionJustification: z.string().max(2000, 'the justification is limited to 2000 characters').optional(),
  })
  .passthrough();

const invokeValue = z.object({
  action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(64), data: actionData }),
});

/**
 * Characters a reader of the justification in PIM actually sees: zero-width and bidi controls, NULs
 * and other control or format characters, and spaces do not make a justification.
 */
function visibleLength(text: string): number {
  return Array.from(text.replace(/[\p{Cc}\p{Cf}\p{Z}\s]/gu, '')).length;
}

export class ApprovalActions {
  private readonly now: () => Date;

  constructor(private readonly deps: ApprovalActionDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** A click on an approval or summary card; `verb` is the one the card-action registry routed here. */
  async handle(ctx: TurnContext, verb: ApprovalVerbName): Promise<InvokeBody> {
    const parsed = invokeValue.safeParse(ctx.activity.value);
    if (!parsed.success) {
      return errorAnswer(
        400,
        `This card action is not one the bot understands (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}).`,
      );
    }
    const { data } = parsed.data.action;
    const actorId = ctx.activity.from?.aadObjectId?.toLowerCase();
    const log = this.deps.log.child({ requestId: data.requestId, approverId: actorId, verb });
    const row = await this.deps.store.requests.get(data.requestId);
    if (!row) return errorAnswer(400, 'This request is not known to the bot. It may have been created before the bot was installed.');

    switch (verb) {
      case ApprovalVerb.Refresh:
        return this.refreshView(row, actorId);
      case ApprovalVerb.Approve:
      case ApprovalVerb.Deny:
        return this.decide(ctx, row, actorId, verb === ApprovalVerb.Approve ? 'Approve' : 'Deny', data.decisionJustification ?? '', log);
      default:
        return assertNever(verb);
    }
  }

  private cardFor(row: ApprovalRequestRow, actorId: string | undefined, message?: string, approverIds = parseDisplay(row).approverIds): InvokeBody {
    const view = viewFor(row, actorId, approverIds);
    return cardAnswer(renderApprovalCard(cardDataOf(row, this.now(), message), view));
  }

  /**
   * A refresh uses the approver list stored when the card was posted; if Graph could not give it
   * then, it is read now, so an approver is never left without buttons. (The decision re-checks anyway.)
   */
  private async refreshView(row: ApprovalRequestRow, actorId: string | undefined): Promise<InvokeBody> {
    let approverIds = parseDisplay(row).approverIds;
    if (approverIds.length === 0 && row.status === 'pending') {
      approverIds = await this.deps.directory
        .approvalPolicy(refOf(row))
        .then((p) => p.approverIds)
        .catch(() => []);
    }
    return this.cardFor(row, actorId, undefined, approverIds);
  }

  private async decide(
    ctx: TurnContext,
    row: ApprovalRequestRow,
    actorId: string | undefined,
    reviewResult: 'Approve' | 'Deny',
    rawJustification: string,
    log: Logger,
  ): Promise<InvokeBody> {
    if (!actorId) return errorAnswer(400, 'Teams did not say who you are (no Entra object id on the action); the bot cannot check that you are an approver.');
    if (row.status !== 'pending') return this.cardFor(row, actorId, this.alreadyMessage(row));
    if (actorId === row.principal_id) {
      log.warn('self-approval refused');
      return this.cardFor(row, actorId, 'You cannot approve or deny your own request. Another approver must decide.');
    }

    // Three things decide whether this click may be recorded, and the waits run side by side: PIM's approver
    // list (the bot's own read), the justification (local), and the approver's token (the token service).
    // Once the token proves the approver, PIM's approval steps are read as them, before the claim; the
    // claim still comes only after every check below passed, and the PATCH only after the claim.
    const justification = rawJustification.trim();
    const justified = visibleLength(justification) >= this.deps.minJustification;
    const approvers = settled(
      this.deps.directory.approvalPolicy(refOf(row), { groupHint: parseDisplay(row).approverGroupIds, escalation: false }).then((p) => p.approverIds),
    );
    // No token is asked for a click that cannot be recorded anyway (too short a justification).
    const proof = justified ? this.proveApprover(ctx, row) : null;
    proof?.catch(() => undefined); // awaited below; a refusal that answers first leaves it unheard

    const listed = await approvers;
    if ('error' in listed) {
      log.warn({ err: errInfo(listed.error) }, 'approver list unavailable');
      return this.cardFor(row, actorId, 'The bot could not read the approver list from PIM just now, so nothing was recorded. Try again in a minute.');
    }
    if (!listed.value.includes(actorId)) {
      log.warn('non-approver refused');
      return cardAnswer(
        renderApprovalCard(
          cardDataOf(row, this.now(), `Only approvers of ${parseDisplay(row).roleDisplayName} in PIM can decide on this request.`),
          'observer',
        ),
      );
    }

    if (!proof) {
      return this.cardFor(row, actorId, `Add a justification of at least ${this.deps.minJustification} characters: it is recorded in PIM with your decision.`);
    }

    // The approver proves who they are with their token before anything is claimed or audited: the checks
    // above read the activity's object id, and the token must carry that same oid in the bot's tenant. From
    // here on the decider is the token's oid.
    const proven = await proof;
    if (proven.sso.kind === 'identityRefused') {
      log.warn(identityRefusalLog(ctx, proven.sso), 'card action refused: the sign-in does not prove the approver');
      return this.cardFor(row, actorId, proven.sso.message);
    }
    if (!proven.pim) return proven.sso.response;
    const { sso, pim, steps } = proven;
    const deciderId = sso.user.oid;

    // The claim: one compare-and-swap from pending to recording. A double-click or a second approver
    // loses it here, so PIM receives at most one PATCH from this bot for this request.
    // The approver's choice is audited with the claim (same transaction): no PATCH to PIM without its record.
    const claimed = await this.deps.store.requests.transition(
      row,
      { type: 'claim' },
      {
        claimed_by: deciderId,
        claimed_at: this.now().toISOString(),
        claimed_result: reviewResult,
        decision_justification: justification,
        last_release: null,
      },
      [cardDecisionEntry(row, deciderId, reviewResult, justification, this.now())],
    );
    if (!claimed) {
      const current = (await this.deps.store.requests.get(row.id))!;
      return this.cardFor(current, deciderId, this.alreadyMessage(current));
    }

    // PIM normally answers in well under a second. When it is slow (throttling, retries), the approver
    // gets the card in its "recording" state before Teams gives up on the invoke, and every copy shows
    // the result when PIM has answered.
    const work = this.record(claimed, { id: deciderId, name: sso.user.name, upn: sso.user.upn }, reviewResult, justification, pim, steps, log);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const budget = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.deps.invokeBudgetMs ?? INVOKE_BUDGET_MS);
    });
    const answered = await Promise.race([work, budget]).finally(() => clearTimeout(timer));
    if (answered) return answered;
    log.warn('PIM is slow: the decision goes on in the background');
    this.deps.delivery.kick(async () => {
      await work;
      // Whatever happened (recorded, refused, released), every copy is brought to the request's state.
      await this.deps.delivery.refreshCopies(claimed.id);
    });
    return this.cardFor(claimed, deciderId, 'Recording your decision in PIM… PIM is answering slowly; this card shows the result when it has.');
  }

  /**
   * The approver's token from the token service and, once it proves them, the read of PIM's approval steps
   * as them (started, not awaited: the claim is taken while it runs). Rejects only as the token service call
   * does; the steps read keeps its failure for `record`, which handles it as PIM's answer after the claim.
   */
  private async proveApprover(ctx: TurnContext, row: ApprovalRequestRow): Promise<ApproverProof> {
    const sso = await this.deps.ssoToken(ctx);
    if (sso.kind !== 'token') return { sso, pim: null };
    const pim = this.deps.pimAs(sso.token, row);
    const steps = pim.steps(row.pim_request_id);
    steps.catch(() => undefined); // awaited in `record` once claimed; a refused click never reads it
    return { sso, pim, steps };
  }

  /**
   * Records the claimed decision in PIM as the approver, then here; the invoke answer for each outcome.
   * `decider` is the identity the approver's token proved.
   */
  private async record(
    claimed: ApprovalRequestRow,
    decider: { id: string; name: string | null; upn: string | null },
    reviewResult: 'Approve' | 'Deny',
    justification: string,
    pim: PimApprovals,
    stepsRead: Promise<ApprovalStep[]>,
    log: Logger,
  ): Promise<InvokeBody> {
    const actorId = decider.id;
    const pimId = claimed.pim_request_id;
    // The decider's directory profile (their name on every copy) is read while PIM records the decision.
    const profileRead = this.deps.directory.user(actorId).catch(() => null);
    let step: ApprovalStep | undefined;
    let patchSent = false;
    try {
      const steps = await stepsRead;
      const decided = steps.find((s) => s.status === 'Completed' && s.reviewResult !== 'NotReviewed');
      if (decided) return this.decidedElsewhere(claimed, decided, actorId, log, null);
      step = steps.find((s) => s.assignedToMe && s.status === 'InProgress');
      if (!step) {
        return (
          (await this.closedInPim(claimed, actorId, null)) ??
          this.cardFor(
            await this.release(claimed, actorId, { outcome: 'not_an_approver', status: null }),
            actorId,
            'PIM does not list you as an approver of this request, so nothing was recorded.',
          )
        );
      }
      patchSent = true;
      await pim.review(pimId, step.id, reviewResult, justification);
    } catch (err) {
      return this.onPimError(err, claimed, actorId, pim, log, patchSent, decider.name);
    }

    const profile = await profileRead;
    const result = reviewResult === 'Approve' ? 'approved' : 'denied';
    // Recorded in PIM: write our state before anything else can fail, so no retry repeats the PATCH. The
    // audit row commits with it; should that transaction fail, the claim stays and the claim recovery
    // closes it from PIM's state (and audits that).
    const final = await this.deps.store.requests.transition(
      claimed,
      { type: 'recorded', result },
      {
        decided_by_id: actorId,
        decided_by_upn: profile?.userPrincipalName ?? decider.upn,
        decided_by_name: profile?.displayName ?? decider.name ?? actorId,
        decided_at: this.now().toISOString(),
        decision_justification: justification,
        claimed_by: null,
        claimed_at: null,
        claimed_result: null,
      },
      [
        // review() resolved, so PIM answered its documented success: Graph's approval-step PATCH 204, ARM's 200.
        graphResultEntry(
          claimed,
          actorId,
          { outcome: 'recorded', reviewResult, status: claimed.kind === 'azureResource' ? 200 : 204, alreadyDecided: false, finalStatus: result },
          this.now(),
        ),
      ],
    );
    const after = final ?? (await this.deps.store.requests.get(claimed.id))!;
    log.info({ pimRequestId: pimId, result }, 'decision recorded in PIM');
    this.fanOut(after.id);
    return this.cardFor(after, actorId);
  }

  private async onPimError(
    err: unknown,
    claimed: ApprovalRequestRow,
    actorId: string,
    pim: PimApprovals,
    log: Logger,
    patchSent: boolean,
    deciderName: string | null,
  ): Promise<InvokeBody> {
    const e = err instanceof GraphCallError ? err : null;
    log.warn({ err: errInfo(err) }, 'PIM refused or failed the decision');
    const graph = { status: e?.status ?? null, code: e?.code ?? null, graphRequestId: e?.requestId ?? null };
    if (e?.status === 409) {
      const steps = await pim.steps(claimed.pim_request_id).catch(() => [] as ApprovalStep[]);
      const decided = steps.find((s) => s.status === 'Completed' && s.reviewResult !== 'NotReviewed');
      if (decided) return this.decidedElsewhere(claimed, decided, actorId, log, graph);
      return (
        (await this.closedInPim(claimed, actorId, graph)) ??
        this.cardFor(
          await this.release(claimed, actorId, { outcome: 'already_decided', ...graph }),
          actorId,
          'PIM says this request was already decided or closed.',
        )
      );
    }
    if (e?.status === 404) {
      const closed = await this.deps.store.requests.transition(claimed, { type: 'cancelled' }, { claimed_by: null, claimed_at: null, claimed_result: null }, [
        graphResultEntry(
          claimed,
          actorId,
          { outcome: 'not_found', reviewResult: claimed.claimed_result, alreadyDecided: false, finalStatus: 'cancelled', ...graph },
          this.now(),
        ),
      ]);
      this.fanOut(claimed.id);
      return this.cardFor(closed ?? claimed, actorId, 'PIM no longer has this request: it was cancelled or has expired. Nothing was recorded.');
    }
    // A timeout, a lost connection or a 5xx may come after PIM applied the PATCH: PIM's approval step says
    // whether it did, read before the claim is given back, so a decision PIM holds keeps its decider.
    if (patchSent && isAmbiguous(e)) {
      const steps = await pim.steps(claimed.pim_request_id).catch((readErr: unknown) => {
        log.warn({ err: errInfo(readErr) }, 'PIM approval steps unreadable after an ambiguous decision');
        return null;
      });
      const decided = steps?.find((s) => s.status === 'Completed' && s.reviewResult !== 'NotReviewed');
      if (decided) return this.decidedElsewhere(claimed, decided, actorId, log, graph);
      if (!steps) {
        // PIM could not say: the claim stays, and the claim recovery settles it from PIM's state.
        return this.cardFor(
          claimed,
          actorId,
          'PIM did not answer, so the bot cannot tell yet whether your decision was recorded. This card shows the result when PIM does.',
        );
      }
    }
    const released = await this.release(claimed, actorId, { outcome: e?.status === 403 || e?.status === 400 ? 'refused' : 'failed', ...graph }, deciderName);
    if (e?.status === 403) return this.cardFor(released, actorId, `PIM refused your decision: ${e.message.replace(/^[^:]*: /, '')} Nothing was recorded.`);
    if (e?.status === 400) return this.cardFor(released, actorId, `PIM rejected the decision: ${e.message.replace(/^[^:]*: /, '')}`);
    const rid = e?.requestId ? ` (Graph request id ${e.requestId})` : '';
    return this.cardFor(
      released,
      actorId,
      `PIM did not answer${rid}, so your decision may not be recorded. Try again; if it was recorded, the card will say so.`,
    );
  }

  /**
   * A request PIM closed without a review (its 24-hour window ran out, or the requester cancelled)
   * is closed here too, with a card that says why; undefined when PIM still has it open.
   */
  private async closedInPim(claimed: ApprovalRequestRow, actorId: string, graph: GraphAnswer | null): Promise<InvokeBody | undefined> {
    const pimStatus = await this.deps.directory.requestStatus(refOf(claimed)).catch(() => null);
    const recovery = pimStatus ? recoverClaim(claimed.claimed_result, pimStatus) : null;
    if (recovery?.kind !== 'final' || (recovery.status !== 'expired' && recovery.status !== 'cancelled')) return undefined;
    const closed = await this.deps.store.requests.transition(
      claimed,
      { type: recovery.status },
      { claimed_by: null, claimed_at: null, claimed_result: null, decision_justification: null },
      [
        graphResultEntry(
          claimed,
          actorId,
          {
            outcome: 'closed',
            reviewResult: claimed.claimed_result,
            status: graph?.status ?? null,
            code: graph?.code,
            graphRequestId: graph?.graphRequestId,
            alreadyDecided: false,
            finalStatus: recovery.status,
          },
          this.now(),
        ),
      ],
    );
    this.fanOut(claimed.id);
    const why =
      recovery.status === 'expired' ? 'PIM drops requests nobody decides within 24 hours; the requester can ask again.' : 'The request was cancelled in PIM.';
    return this.cardFor(closed ?? claimed, actorId, `Nothing was recorded: ${why}`);
  }

  private async decidedElsewhere(
    claimed: ApprovalRequestRow,
    step: ApprovalStep,
    actorId: string,
    log: Logger,
    graph: GraphAnswer | null,
  ): Promise<InvokeBody> {
    const result = step.reviewResult === 'Approve' ? 'approved' : 'denied';
    const byId = step.reviewedBy?.id?.toLowerCase() ?? null;
    const by = byId ? await this.deps.directory.user(byId).catch(() => null) : null;
    const updated = await this.deps.store.requests.transition(
      claimed,
      closingEvent(result, byId === actorId),
      {
        decided_by_id: byId,
        decided_by_upn: by?.userPrincipalName ?? step.reviewedBy?.userPrincipalName ?? null,
        decided_by_name: by?.displayName ?? step.reviewedBy?.displayName ?? byId,
        decided_at: step.reviewedDateTime ?? this.now().toISOString(),
        decision_justification: step.justification ?? '',
        claimed_by: null,
        claimed_at: null,
        claimed_result: null,
      },
      [
        // PIM crediting this approver means their PATCH landed although its answer was lost: recorded, theirs.
        byId === actorId
          ? graphResultEntry(
              claimed,
              actorId,
              {
                outcome: 'recorded',
                reviewResult: claimed.claimed_result,
                status: graph?.status ?? null,
                code: graph?.code,
                graphRequestId: graph?.graphRequestId,
                alreadyDecided: false,
                decidedBy: byId,
                finalStatus: result,
                recovered: graph !== null,
              },
              this.now(),
            )
          : graphResultEntry(
              claimed,
              actorId,
              {
                outcome: 'already_decided',
                reviewResult: claimed.claimed_result,
                status: graph?.status ?? null,
                code: graph?.code,
                graphRequestId: graph?.graphRequestId,
                alreadyDecided: true,
                decidedBy: byId,
                finalStatus: result,
              },
              this.now(),
            ),
      ],
    );
    const after = updated ?? (await this.deps.store.requests.get(claimed.id))!;
    log.info({ pimRequestId: claimed.pim_request_id, result, decidedBy: byId }, 'request was already decided in PIM');
    this.fanOut(after.id);
    return this.cardFor(
      after,
      actorId,
      byId === actorId
        ? undefined
        : `${after.decided_by_name ?? 'Another approver'} already ${result === 'approved' ? 'approved' : 'denied'} this request in PIM.`,
    );
  }

  /**
   * Gives the claim back (nothing recorded in PIM); the audit row says what PIM answered. When PIM failed
   * (not a refusal the approver reads on their own card), every copy says the decision was not recorded
   * and the approver is told in their chat, once per release.
   */
  private async release(
    claimed: ApprovalRequestRow,
    actorId: string,
    graph: GraphAnswer & { outcome: 'not_an_approver' | 'already_decided' | 'refused' | 'failed' },
    deciderName: string | null = null,
  ): Promise<ApprovalRequestRow> {
    const next = transition('recording', { type: 'release' });
    const audit = [
      graphResultEntry(
        claimed,
        actorId,
        { reviewResult: claimed.claimed_result, alreadyDecided: graph.outcome === 'already_decided', finalStatus: next.ok ? next.next : null, ...graph },
        this.now(),
      ),
    ];
    const note = graph.outcome === 'failed' ? claimReleaseOf(claimed, deciderName) : null;
    const released = await this.deps.store.requests.transition(
      claimed,
      { type: 'release' },
      {
        claimed_by: null,
        claimed_at: null,
        claimed_result: null,
        decision_justification: null,
        ...(note ? { last_release: JSON.stringify(note) } : {}),
      },
      audit,
    );
    if (released && note) {
      this.deps.delivery.kick(async () => {
        await this.deps.delivery.refreshCopies(released.id);
        await tellApproverNotRecorded(this.deps.delivery, released, note);
      });
    }
    return released ?? (await this.deps.store.requests.get(claimed.id))!;
  }

  private alreadyMessage(row: ApprovalRequestRow): string {
    switch (row.status) {
      case 'recording':
        return 'Another decision on this request is being recorded in PIM right now.';
      case 'approved':
      case 'denied':
        return `${row.decided_by_name ?? 'An approver'} already ${row.status} this request.`;
      case 'expired':
        return 'This request expired: PIM drops requests nobody decides within 24 hours.';
      case 'cancelled':
        return 'This request was cancelled.';
      default:
        return 'This request changed; here is its current state.';
    }
  }

  private fanOut(requestId: string): void {
    this.deps.delivery.kick(async () => {
      await this.deps.delivery.refreshCopies(requestId);
      await this.deps.delivery.notifyRequester(requestId);
    });
  }
}
