/**
 * Break-glass (issue 22): the pure rules of an emergency grant. A requester marks a request by starting its
 * justification with `EMERGENCY:` (PIM's callout carries nothing else a requester controls); the mark alone
 * grants nothing. The grant needs the role's `emergency`, a role that is not human-only, the on-call check
 * passed, the ticket check passed on an open incident of a listed priority, and the requester under the daily
 * limit. Anything that could not be established (the count of earlier grants, the incident's priority) means
 * no grant. The decision table (decision-table.ts, row 5) then still requires no deny, no flag and no check
 * that could not be completed. No I/O here.
 */

/** The mark: the justification starts with `EMERGENCY:` (any case, leading spaces allowed). */
const EMERGENCY_MARK = /^\s*emergency\s*:/i;

export function isEmergencyMarked(justification: string | null | undefined): boolean {
  return typeof justification === 'string' && EMERGENCY_MARK.test(justification);
}

/** What the ticket check found out about the ticket, for break-glass (see TicketCheck.facts). */
export interface TicketFacts {
  number: string;
  system: string;
  kind: 'incident' | 'change' | 'issue';
  /** The system's choice value (ServiceNow: `1` is Critical); null when it did not say. */
  priority: string | null;
  priorityLabel: string | null;
}

export interface EmergencyInput {
  marked: boolean;
  /** The role's own `emergency`; null: off for the role. */
  rule: { incidentPriorities: string[]; maxPerUserPerDay: number } | null;
  humanOnly: boolean;
  roleName: string;
  onCall: { result: string; summary: string } | undefined;
  ticket: { result: string; facts?: TicketFacts } | undefined;
  /** Earlier emergency grants of this requester in the last 24 hours; null: they could not be counted. */
  grantsInLastDay: number | null;
}

export interface EmergencyAssessment {
  marked: boolean;
  /** Every break-glass condition holds (the decision table still has the last word). */
  met: boolean;
  /** Why there is no emergency grant, as a clause ("on-call could not be confirmed (…)"); null when met or not marked. */
  whyNot: string | null;
  /** The incident cited, when it was read. */
  incident: TicketFacts | null;
  /** The on-call check's line, the grant's evidence. */
  onCallEvidence: string | null;
}

/** Pure: whether a request qualifies for an emergency grant, and if not, why. */
export function assessEmergency(input: EmergencyInput): EmergencyAssessment {
  const incident = input.ticket?.facts ?? null;
  const onCallEvidence = input.onCall?.summary ?? null;
  const no = (whyNot: string): EmergencyAssessment => ({ marked: input.marked, met: false, whyNot: input.marked ? whyNot : null, incident, onCallEvidence });
  if (!input.marked) return no('');
  if (!input.rule) return no(`${input.roleName} has no break-glass (emergency) access configured`);
  if (input.humanOnly) return no(`${input.roleName} is a human-only role, which break-glass never applies to`);
  if (input.onCall?.result !== 'pass') {
    return no(
      input.onCall?.result === 'fail'
        ? `the requester is not on call (${input.onCall.summary})`
        : `on-call could not be confirmed${input.onCall ? ` (${input.onCall.summary})` : ''}`,
    );
  }
  if (input.ticket?.result !== 'pass') return no('the cited ticket could not be confirmed as an open incident');
  if (incident?.kind !== 'incident') return no('the cited ticket is not an incident whose priority could be read');
  if (incident.priority === null) return no(`the priority of ${incident.number} could not be read`);
  if (!input.rule.incidentPriorities.includes(incident.priority)) {
    return no(
      `${incident.number} is priority ${incident.priorityLabel ?? incident.priority}; break-glass needs priority ${input.rule.incidentPriorities.join(' or ')}`,
    );
  }
  if (input.grantsInLastDay === null) return no('earlier emergency grants could not be counted');
  if (input.grantsInLastDay >= input.rule.maxPerUserPerDay) {
    return no(
      `the requester already had ${input.grantsInLastDay} emergency grant${input.grantsInLastDay === 1 ? '' : 's'} in the last 24 hours (the limit is ${input.rule.maxPerUserPerDay})`,
    );
  }
  return { marked: true, met: true, whyNot: null, incident, onCallEvidence };
}

/** The first reason of an emergency grant; it starts with "Emergency" (PIM shows it, the cards and the audit keep it). */
export function emergencyGrantReason(a: Pick<EmergencyAssessment, 'incident' | 'onCallEvidence'>): string {
  const incident = a.incident ? `${a.incident.number} is an open priority ${a.incident.priorityLabel ?? a.incident.priority} incident` : 'an open incident';
  return `Emergency (break-glass) access granted without an approver: the requester is on call (${a.onCallEvidence ?? 'confirmed'}) and ${incident}. The approvers and the security team are told now, a second person reviews the grant, and the requester is asked for a post-incident note when it ends.`;
}

/** The reason added when a request marked EMERGENCY gets no emergency grant. */
export function noEmergencyReason(whyNot: string): string {
  return `No emergency (break-glass) grant: ${whyNot}.`;
}
