/**
 * Ports the decision service checks systems of record through. Each adapter is a real HTTP client of
 * the public API with a named timeout, retries on 429/5xx honouring Retry-After, and a cap; the
 * simulator plays each API. Every call takes an AbortSignal: the decision budget cancels slow checks.
 */

export interface Requester {
  /** Entra object id. */
  id: string;
  userPrincipalName: string;
  mail: string | null;
}

export interface ActivationWindow {
  start: Date;
  /** null: PIM sent no usable end (no expiration, or one we cannot read); checks that need it fail closed. */
  end: Date | null;
}

/** The requester as the directory knows them, or why not. */
export type RequesterLookup =
  | { status: 'found'; requester: Requester; evidence: Evidence }
  | { status: 'notFound'; detail: string; evidence: Evidence }
  | { status: 'unknown'; detail: string; evidence: Evidence };

/**
 * What one question to one system of record was, who answered, what they said and how long it took.
 * Stored with the evaluation, shown on the card and in the audit export; never a credential or a body.
 */
export interface Evidence {
  /** What was asked, e.g. `incident INC0012345` or `membership of the assignment group`. */
  asked: string;
  /** Who answered (or failed to): `ServiceNow`, `PagerDuty`, `Microsoft Graph`. */
  system: string;
  /** What came back, short: `HTTP 200`, `HTTP 403 (ACL)`, `no answer within 1200 ms`, `field state missing`. */
  answer: string;
  /** How long the question took, in milliseconds (retries included). */
  ms: number;
}

/**
 * The answer to one yes/no question a check asks, in three states. `unknown` is a value like the
 * others: there is no boolean to test with `=== false`, so a caller must say what unknown means
 * (`switch` on `status`; the decision reads unknown as "a person decides", never as a pass).
 */
export type Finding =
  | { status: 'pass'; detail: string; evidence: Evidence[] }
  | { status: 'fail'; detail: string; evidence: Evidence[] }
  | { status: 'unknown'; detail: string; evidence: Evidence[] };

export type FindingStatus = Finding['status'];

/** The aspects of a ticket a check looks at, in the order they are reported. */
export type TicketAspect = 'exists' | 'open' | 'assignment' | 'changeApproved' | 'changeWindow';

export type TicketFinding = Finding & { aspect: TicketAspect };

export interface TicketCheck {
  /** Short description for the card, e.g. `CHG0042001 "Rotate payroll signing cert" (Implement)`. */
  summary: string;
  /**
   * One finding per aspect looked at. `exists` always comes first; when it fails nothing else is
   * reported. `assignment` only when asked for; `changeApproved` and `changeWindow` only for changes.
   * A sub-lookup that failed (the requester's user record, the group membership) is `unknown`, never
   * a pass; a field the system withheld or left out is `unknown` too.
   */
  findings: TicketFinding[];
  /**
   * What kind of ticket was found and, for an incident, its priority as the system's choice value (ServiceNow
   * `priority`, `1` is Critical) and label; null when the system did not say. Absent when the ticket was not
   * read. Break-glass reads it (an open incident of a listed priority); unknown means no emergency grant.
   */
  facts?: { kind: 'incident' | 'change' | 'issue'; priority: string | null; priorityLabel: string | null };
}

export interface TicketQuestion {
  number: string;
  requester: Requester;
  window: ActivationWindow;
  /** Look up who the ticket is assigned to (the role's `mustBeAssignedToRequester`). */
  assignment: boolean;
}

export interface TicketSystem {
  /** Names this adapter answers for, matched case-insensitively against PIM's ticketSystem; the first is its display name. */
  readonly names: string[];
  /** Never rejects: a system that cannot answer gives `unknown` findings with the evidence of why. */
  check(question: TicketQuestion, signal: AbortSignal): Promise<TicketCheck>;
}

/** pass: on call now; fail: not on call (the system answered, and the requester is not on a rota now); unknown: could not tell. */
export type OnCallCheck = Finding;

export interface OnCallService {
  readonly name: string;
  /** Never rejects: a provider that cannot answer gives `unknown` with the evidence of why. */
  isOnCall(requester: Requester, at: Date, signal: AbortSignal): Promise<OnCallCheck>;
}

/** pass: account enabled, no leave date inside the window; fail: disabled, gone or leaving (detail says which); unknown: could not tell. */
export type HrCheck = Finding;

export interface HrSignals {
  /** Never rejects. `window.end` null: the activation has no known end (a leave date in the future then fails). */
  check(requester: Requester, window: ActivationWindow, signal: AbortSignal): Promise<HrCheck>;
}

/** Microsoft Entra ID Protection's user risk level (Graph `riskLevel`); `hidden` when the tenant's licence hides it. */
export type UserRiskLevel = 'low' | 'medium' | 'high' | 'hidden' | 'none' | 'unknownFutureValue';

/** One recent risk detection of the user, as much as an approver needs to weigh it. */
export interface RiskDetectionSummary {
  /** e.g. `unfamiliarFeatures`, `anonymizedIPAddress`, `leakedCredentials`. */
  riskEventType: string;
  riskLevel: string;
  /** `atRisk`, `confirmedCompromised`, `remediated`, `dismissed`, `confirmedSafe` … */
  riskState: string;
  detectedDateTime: string | null;
  ipAddress: string | null;
  /** City and country of the sign-in, when Graph knows them. */
  city: string | null;
  countryOrRegion: string | null;
  /** `signin` or `user`. */
  activity: string | null;
  detectionTimingType: string | null;
}

/** The requester's user risk as ID Protection holds it; a user with no risk record reads as level and state `none`. */
export interface UserRiskRecord {
  riskLevel: UserRiskLevel;
  /** Graph `riskState`: `atRisk` and `confirmedCompromised` are active risk; dismissed or remediated risk is not. */
  riskState: string;
  riskDetail: string | null;
  riskLastUpdatedDateTime: string | null;
  /** Most recent first; empty when there are none or they could not be read (see `detectionsUnavailable`). */
  detections: RiskDetectionSummary[];
  detectionsUnavailable: boolean;
}

export interface IdentityRiskSignals {
  /** Rejects (IntegrationUnavailable) when ID Protection cannot answer; never resolves to "no risk" on failure. */
  userRisk(userId: string, signal: AbortSignal): Promise<UserRiskRecord>;
}

/** A failure an adapter raises when the system cannot answer (timeout, 5xx after retries, auth). */
export class IntegrationUnavailable extends Error {
  constructor(
    readonly system: string,
    message: string,
    /** The short form for evidence: `HTTP 403`, `no answer within 1200 ms`, `body not JSON`, `out of time`. */
    readonly answer: string = 'unavailable',
  ) {
    super(message);
    this.name = 'IntegrationUnavailable';
  }
}
