import type { Logger } from 'pino';
import { recoverClaim } from '../approvals/claim-recovery';
import { type ApprovalView, claimReleaseOf, decidersNow, escalationOpen, escalationOpensAt, parseDisplay, refOf, utcText } from '../approvals/request-display';
import { assertNever, closingEvent, transition } from '../approvals/request-lifecycle';
import { cardDecisionEntry, graphResultEntry } from '../audit/entries';
import type { ProvenUser } from '../auth/user-token';
import type { Directory, RoleApprovalPolicy } from '../graph/directory';
import { GraphCallError } from '../graph/graph-errors';
import type { ApprovalStep, PimApprovals } from '../graph/pim-approvals';
import { errInfo } from '../observability/err-info';
import { visibleLength } from '../text/plain-text';
import type { RequestStore } from '../store/requests';
import type { ApprovalRequestRow } from '../store/store';
import type { CardDelivery } from './card-delivery';
import { tellApproverNotRecorded } from './claim-release';

/**
 * Deciding a request from its approval card, Teams-free: authorise the approver against server state (PIM's
 * approver list, the requester, the justification, and the identity their token proves), claim the request
 * through `transition()`, record the decision in PIM (or Azure, or PIM for Groups) as the approver, audit it,
 * then record or release it here, tell the requester and refresh every copy of the card. Also a card's refresh.
 *
 * It sits in services/jobs, not services/approvals, because it does I/O: the store, the directory, PIM on
 * behalf of the approver and card delivery (services/approvals holds the pure rules it applies). The Teams
 * adapter (bot/teams/approval-actions.ts) reads the activity, gets the approver's SSO token, and turns each
 * `DecisionOutcome` into the invoke answer and card.
 */

/** What a click on an approval or summary card asks for. */
export type DecisionVerb = 'approve' | 'deny' | 'refresh';

/** The approver's sign-in as the adapter got it: a token with the identity it proves, or why there is none. */
export type ApproverSignIn =
  | { kind: 'proven'; token: string; user: ProvenUser }
  /** The token proves someone else (or could not be checked): `message` says so to the clicker. */
  | { kind: 'identityRefused'; message: string }
  /** No token yet: the adapter asks the approver to sign in (or to sign in again). */
  | { kind: 'noToken' };

/** One click, as plain data. Nothing on the card is trusted: the request is reloaded and PIM asked again. */
export interface ApprovalClick {
  verb: DecisionVerb;
  requestId: string;
  /** The justification typed on the card ('' when none); trimmed here. */
  justification: string;
  /**
   * The clicker as Teams names them (the activity's `from.aadObjectId`, lower-cased): who the checks are about
   * until the token proves the same person; from the claim on, the decider is the token's `oid`.
   */
  actorId: string | undefined;
  /**
   * The approver's sign-in (`oid` = `actorId`, the bot's tenant). Asked only for a click that can be
   * recorded, and started while PIM's approver list is read; a refusal that answers first leaves it unheard.
   */
  signIn(): Promise<ApproverSignIn>;
  /** The click's log (request id, approver and verb in its bindings). */
  log: Logger;
  /** Where the approver decided: on a card (or in chat, the default) or in the PIM tab; the audit entry says which. */
  via?: 'card' | 'tab';
}

/** What the approver is shown for a click: the adapter turns it into the invoke answer. */
export type DecisionOutcome =
  /** Nothing to show on a card (the card's data or Teams' activity falls short): an error under the card. */
  | { kind: 'refused'; message: string }
  /**
   * The request's card as it is now, for `viewer`, with a line said on it: the view follows from the row and
   * `approverIds` (who may decide now: the approvers stored with the request, and its escalation approvers once
   * PIM's escalation time has passed; `decidersNow`), unless `view` gives it.
   */
  | { kind: 'card'; row: ApprovalRequestRow; viewer: string | undefined; message?: string; approverIds?: string[]; view?: ApprovalView }
  /** The sign-in does not prove the clicker: the card, with `message`. Nothing was claimed, audited or sent. */
  | { kind: 'identityRefused'; row: ApprovalRequestRow; viewer: string; message: string }
  /** The approver must sign in first: the adapter answers with the sign-in its token service asked for. */
  | { kind: 'signInRequired' };

export interface DecidePorts {
  requests: Pick<RequestStore, 'get' | 'transition'>;
  directory: Pick<Directory, 'approvalPolicy' | 'user' | 'requestStatus'>;
  delivery: Pick<CardDelivery, 'kick' | 'refreshCopies' | 'notifyRequester' | 'tellRequester'>;
  /** PIM approval calls for this request (Entra role, group or Azure resource) made on behalf of the approver whose SSO token is given. */
  pimAs(ssoToken: string, row: ApprovalRequestRow): PimApprovals;
  minJustification: number;
  /** How long an approver's click waits for PIM before answering with the card's "recording" state. */
  invokeBudgetMs?: number;
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

/** The approver's proven sign-in, and PIM's approval steps being read as them; or why there is no token to act with. */
type ApproverProof =
  | { sso: Exclude<ApproverSignIn, { kind: 'proven' }>; pim: null }
  | { sso: Extract<ApproverSignIn, { kind: 'proven' }>; pim: PimApprovals; steps: Promise<ApprovalStep[]> };

/** A promise's outcome as a value: awaited later, a failure is no unhandled rejection meanwhile. */
function settled<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** Teams gives an invoke about 15 seconds; the card must answer well before. */
const INVOKE_BUDGET_MS = 8_000;

/** Characters a reader of the justification in PIM actually sees (services/text/plain-text.ts; the card and the tab count alike). */
export { visibleLength };

/** The request's card for `viewer`, with `message` said on it. */
function shown(row: ApprovalRequestRow, viewer: string | undefined, message?: string, approverIds?: string[]): DecisionOutcome {
  return { kind: 'card', row, viewer, message, approverIds };
}

export class ApprovalDecisions {
  private readonly now: () => Date;

  constructor(private readonly deps: DecidePorts) {
    this.now = deps.now ?? (() => new Date());
  }

  /** A click on an approval or summary card. */
  async handle(click: ApprovalClick): Promise<DecisionOutcome> {
    const row = await this.deps.requests.get(click.requestId);
    if (!row) return { kind: 'refused', message: 'This request is not known to the bot. It may have been created before the bot was installed.' };
    const outcome = await this.handleRow(click, row);
    // Who sees the buttons is who may decide now, on this clock: the escalation approvers join once PIM's
    // escalation time has passed (the adapter has no clock of its own for it).
    return outcome.kind === 'card' && !outcome.approverIds && !outcome.view ? { ...outcome, approverIds: decidersNow(outcome.row, this.now()) } : outcome;
  }

  private async handleRow(click: ApprovalClick, row: ApprovalRequestRow): Promise<DecisionOutcome> {
    switch (click.verb) {
      case 'refresh':
        return this.refreshView(row, click.actorId);
      case 'approve':
      case 'deny':
        return this.decide(click, row, click.verb === 'approve' ? 'Approve' : 'Deny');
      default:
        return assertNever(click.verb);
    }
  }

  /**
   * A refresh uses the approver list stored when the card was posted; if Graph could not give it
   * then, it is read now, so an approver is never left without buttons. (The decision re-checks anyway.)
   */
  private async refreshView(row: ApprovalRequestRow, actorId: string | undefined): Promise<DecisionOutcome> {
    let approverIds = decidersNow(row, this.now());
    if (parseDisplay(row).approverIds.length === 0 && row.status === 'pending') {
      approverIds = await this.deps.directory
        .approvalPolicy(refOf(row))
        .then((p) => [...p.approverIds, ...(escalationOpen(p.escalationTimeInMinutes, row.created_at, this.now()) ? p.escalationApproverIds : [])])
        .catch(() => []);
    }
    return shown(row, actorId, undefined, approverIds);
  }

  private async decide(click: ApprovalClick, row: ApprovalRequestRow, reviewResult: 'Approve' | 'Deny'): Promise<DecisionOutcome> {
    const { actorId, log } = click;
    if (!actorId)
      return { kind: 'refused', message: 'Teams did not say who you are (no Entra object id on the action); the bot cannot check that you are an approver.' };
    if (row.status !== 'pending') return shown(row, actorId, alreadyMessage(row));
    if (actorId === row.principal_id) {
      log.warn('self-approval refused');
      return shown(row, actorId, 'You cannot approve or deny your own request. Another approver must decide.');
    }

    // Three things decide whether this click may be recorded, and the waits run side by side: PIM's approver
    // list (the bot's own read), the justification (local), and the approver's token (the token service).
    // Once the token proves the approver, PIM's approval steps are read as them, before the claim; the
    // claim still comes only after every check below passed, and the PATCH only after the claim.
    const justification = click.justification.trim();
    const justified = visibleLength(justification) >= this.deps.minJustification;
    const display = parseDisplay(row);
    // The escalation approvers are read too once the card says PIM's escalation time has passed (the policy's
    // own time decides below).
    const escalationDue = escalationOpen(display.escalationTimeInMinutes, row.created_at, this.now());
    const approvers = settled(this.deps.directory.approvalPolicy(refOf(row), { groupHint: display.approverGroupIds, escalation: escalationDue }));
    // No token is asked for a click that cannot be recorded anyway (too short a justification).
    const proof = justified ? this.proveApprover(click, row) : null;
    proof?.catch(() => undefined); // awaited below; a refusal that answers first leaves it unheard

    const listed = await approvers;
    if ('error' in listed) {
      log.warn({ err: errInfo(listed.error) }, 'approver list unavailable');
      return shown(row, actorId, 'The bot could not read the approver list from PIM just now, so nothing was recorded. Try again in a minute.');
    }
    let approver = listed.value.approverIds.includes(actorId);
    if (!approver) {
      // Not a primary approver: an escalation approver may decide once PIM's escalation time has passed.
      const escalation = await settled(this.isEscalationApprover(row, actorId, listed.value, escalationDue));
      if ('error' in escalation) {
        log.warn({ err: errInfo(escalation.error) }, 'escalation approver list unavailable');
        return shown(row, actorId, 'The bot could not read the approver list from PIM just now, so nothing was recorded. Try again in a minute.');
      }
      approver = escalation.value;
    }
    if (!approver) {
      log.warn('non-approver refused');
      const opensAt = escalationOpensAt(listed.value.escalationTimeInMinutes, row.created_at);
      if ((display.escalationApproverIds ?? []).some((id) => id.toLowerCase() === actorId) && opensAt && opensAt.getTime() > this.now().getTime()) {
        return {
          kind: 'card',
          row,
          viewer: actorId,
          message: `You are an escalation approver of ${display.roleDisplayName} in PIM: PIM lets you decide from ${utcText(opensAt)}, if nobody has by then.`,
          view: 'observer',
        };
      }
      // Says who can, as PIM's policy names them now (the read that refused the click).
      const names = listed.value.approverNames ?? [];
      const who = names.length > 0 ? ` Who can: ${names.slice(0, 6).join(', ')}${names.length > 6 ? ` and ${names.length - 6} more` : ''}.` : '';
      return {
        kind: 'card',
        row,
        viewer: actorId,
        message: `Only approvers of ${parseDisplay(row).roleDisplayName} in PIM can decide on this request.${who}`,
        view: 'observer',
      };
    }

    if (!proof) {
      return shown(row, actorId, `Add a justification of at least ${this.deps.minJustification} characters: it is recorded in PIM with your decision.`);
    }

    // The approver proves who they are with their token before anything is claimed or audited: the checks
    // above read the activity's object id, and the token must carry that same oid in the bot's tenant. From
    // here on the decider is the token's oid.
    const proven = await proof;
    if (proven.sso.kind === 'identityRefused') return { kind: 'identityRefused', row, viewer: actorId, message: proven.sso.message };
    if (!proven.pim) return { kind: 'signInRequired' };
    const { sso, pim, steps } = proven;
    const deciderId = sso.user.oid;

    // The claim: one compare-and-swap from pending to recording. A double-click or a second approver
    // loses it here, so PIM receives at most one PATCH from this bot for this request.
    // The approver's choice is audited with the claim (same transaction): no PATCH to PIM without its record.
    const claimed = await this.deps.requests.transition(
      row,
      { type: 'claim' },
      {
        claimed_by: deciderId,
        claimed_at: this.now().toISOString(),
        claimed_result: reviewResult,
        decision_justification: justification,
        last_release: null,
      },
      [cardDecisionEntry(row, deciderId, reviewResult, justification, this.now(), click.via ?? 'card')],
    );
    if (!claimed) {
      const current = (await this.deps.requests.get(row.id))!;
      return shown(current, deciderId, alreadyMessage(current));
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
    return shown(claimed, deciderId, 'Recording your decision in PIM… PIM is answering slowly; this card shows the result when it has.');
  }

  /**
   * Whether the clicker is one of the stage's escalation approvers and PIM's escalation time (the policy's,
   * read with the click) has passed since the request was created. The escalation approvers are those of the
   * same read when it expanded them (`expanded`), else read now. Unknown time: false.
   */
  private async isEscalationApprover(row: ApprovalRequestRow, actorId: string, policy: RoleApprovalPolicy, expanded: boolean): Promise<boolean> {
    if (!escalationOpen(policy.escalationTimeInMinutes, row.created_at, this.now())) return false;
    const fresh = expanded ? policy : await this.deps.directory.approvalPolicy(refOf(row));
    if (!escalationOpen(fresh.escalationTimeInMinutes, row.created_at, this.now())) return false;
    return fresh.escalationApproverIds.some((id) => id.toLowerCase() === actorId);
  }

  /**
   * The approver's sign-in and, once it proves them, the read of PIM's approval steps as them (started, not
   * awaited: the claim is taken while it runs). Rejects only as the sign-in does; the steps read keeps its
   * failure for `record`, which handles it as PIM's answer after the claim.
   */
  private async proveApprover(click: ApprovalClick, row: ApprovalRequestRow): Promise<ApproverProof> {
    const sso = await click.signIn();
    if (sso.kind !== 'proven') return { sso, pim: null };
    const pim = this.deps.pimAs(sso.token, row);
    const steps = pim.steps(row.pim_request_id);
    steps.catch(() => undefined); // awaited in `record` once claimed; a refused click never reads it
    return { sso, pim, steps };
  }

  /**
   * Records the claimed decision in PIM as the approver, then here; what the approver is shown for each outcome.
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
  ): Promise<DecisionOutcome> {
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
          shown(
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
    const final = await this.deps.requests.transition(
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
    const after = final ?? (await this.deps.requests.get(claimed.id))!;
    log.info({ pimRequestId: pimId, result }, 'decision recorded in PIM');
    this.fanOut(after.id);
    return shown(after, actorId);
  }

  private async onPimError(
    err: unknown,
    claimed: ApprovalRequestRow,
    actorId: string,
    pim: PimApprovals,
    log: Logger,
    patchSent: boolean,
    deciderName: string | null,
  ): Promise<DecisionOutcome> {
    const e = err instanceof GraphCallError ? err : null;
    log.warn({ err: errInfo(err) }, 'PIM refused or failed the decision');
    const graph = { status: e?.status ?? null, code: e?.code ?? null, graphRequestId: e?.requestId ?? null };
    if (e?.status === 409) {
      const steps = await pim.steps(claimed.pim_request_id).catch(() => [] as ApprovalStep[]);
      const decided = steps.find((s) => s.status === 'Completed' && s.reviewResult !== 'NotReviewed');
      if (decided) return this.decidedElsewhere(claimed, decided, actorId, log, graph);
      return (
        (await this.closedInPim(claimed, actorId, graph)) ??
        shown(await this.release(claimed, actorId, { outcome: 'already_decided', ...graph }), actorId, 'PIM says this request was already decided or closed.')
      );
    }
    if (e?.status === 404) {
      const closed = await this.deps.requests.transition(claimed, { type: 'cancelled' }, { claimed_by: null, claimed_at: null, claimed_result: null }, [
        graphResultEntry(
          claimed,
          actorId,
          { outcome: 'not_found', reviewResult: claimed.claimed_result, alreadyDecided: false, finalStatus: 'cancelled', ...graph },
          this.now(),
        ),
      ]);
      this.fanOut(claimed.id);
      return shown(closed ?? claimed, actorId, 'PIM no longer has this request: it was cancelled or has expired. Nothing was recorded.');
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
        return shown(
          claimed,
          actorId,
          'PIM did not answer, so the bot cannot tell yet whether your decision was recorded. This card shows the result when PIM does.',
        );
      }
    }
    const released = await this.release(claimed, actorId, { outcome: e?.status === 403 || e?.status === 400 ? 'refused' : 'failed', ...graph }, deciderName);
    if (e?.status === 403) return shown(released, actorId, `PIM refused your decision: ${e.message.replace(/^[^:]*: /, '')} Nothing was recorded.`);
    if (e?.status === 400) return shown(released, actorId, `PIM rejected the decision: ${e.message.replace(/^[^:]*: /, '')}`);
    const rid = e?.requestId ? ` (Graph request id ${e.requestId})` : '';
    return shown(released, actorId, `PIM did not answer${rid}, so your decision may not be recorded. Try again; if it was recorded, the card will say so.`);
  }

  /**
   * A request PIM closed without a review (its 24-hour window ran out, or the requester cancelled)
   * is closed here too, with a card that says why; undefined when PIM still has it open.
   */
  private async closedInPim(claimed: ApprovalRequestRow, actorId: string, graph: GraphAnswer | null): Promise<DecisionOutcome | undefined> {
    const pimStatus = await this.deps.directory.requestStatus(refOf(claimed)).catch(() => null);
    const recovery = pimStatus ? recoverClaim(claimed.claimed_result, pimStatus) : null;
    if (recovery?.kind !== 'final' || (recovery.status !== 'expired' && recovery.status !== 'cancelled')) return undefined;
    const closed = await this.deps.requests.transition(
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
    return shown(closed ?? claimed, actorId, `Nothing was recorded: ${why}`);
  }

  private async decidedElsewhere(
    claimed: ApprovalRequestRow,
    step: ApprovalStep,
    actorId: string,
    log: Logger,
    graph: GraphAnswer | null,
  ): Promise<DecisionOutcome> {
    const result = step.reviewResult === 'Approve' ? 'approved' : 'denied';
    const byId = step.reviewedBy?.id?.toLowerCase() ?? null;
    const by = byId ? await this.deps.directory.user(byId).catch(() => null) : null;
    const updated = await this.deps.requests.transition(
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
    const after = updated ?? (await this.deps.requests.get(claimed.id))!;
    log.info({ pimRequestId: claimed.pim_request_id, result, decidedBy: byId }, 'request was already decided in PIM');
    this.fanOut(after.id);
    return shown(
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
    const released = await this.deps.requests.transition(
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
    return released ?? (await this.deps.requests.get(claimed.id))!;
  }

  private fanOut(requestId: string): void {
    this.deps.delivery.kick(async () => {
      await this.deps.delivery.refreshCopies(requestId);
      await this.deps.delivery.notifyRequester(requestId);
    });
  }
}

/** What a click on a request that is no longer pending is told. */
export function alreadyMessage(row: ApprovalRequestRow): string {
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
