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
  end: Date;
}

export interface TicketCheck {
  /** Whether the ticket exists in the system. */
  found: boolean;
  /** Open / active (ServiceNow `active=true` and not resolved/closed; Jira status category not Done). */
  open: boolean;
  /** Assigned to the requester or a group they belong to; null when the system could not tell. */
  assignedToRequester: boolean | null;
  /** For changes: the planned window covers the activation window; null when not a change. */
  windowCovered: boolean | null;
  /** Short description for the card, e.g. `CHG0042001 "Rotate payroll signing cert" (Implement)`. */
  summary: string;
  /**
   * Further reasons to deny that the fields above cannot express (a change not yet approved, its
   * actual planned window, no planned dates), as sentences the requester can act on. The decision
   * writes its own sentences for not found, closed, not assigned and window not covered.
   */
  problems: string[];
}

export interface TicketSystem {
  /** Names this adapter answers for, matched case-insensitively against PIM's ticketSystem. */
  readonly names: string[];
  check(ticketNumber: string, requester: Requester, window: ActivationWindow, signal: AbortSignal): Promise<TicketCheck>;
}

export interface OnCallCheck {
  onCall: boolean;
  /** e.g. `On call for "Platform primary" until 2026-03-02 18:00 UTC (PagerDuty)`. */
  detail: string;
}

export interface OnCallService {
  readonly name: string;
  isOnCall(requester: Requester, at: Date, signal: AbortSignal): Promise<OnCallCheck>;
}

export interface HrCheck {
  eligible: boolean;
  /** e.g. `The account is disabled.` or `The requester leaves the company on 2026-03-02.` */
  problems: string[];
}

export interface HrSignals {
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
  ) {
    super(message);
    this.name = 'IntegrationUnavailable';
  }
}
