import { ROLE } from '../sim/seed';
import { simIntegrationSettings } from '../sim/integrations/settings';

/**
 * The decision policy the demo (and the tests that exercise it) run with: the systems of record are
 * the simulator's. The same document, with real URLs and `{"secret": ...}` references, is what a
 * tenant writes in its POLICY_FILE (see config/policy.example.yaml).
 */
export function demoPolicy(simUrl: string): Record<string, unknown> {
  return {
    version: 1,
    businessHoursUtc: { start: 7, end: 19 },
    roles: {
      // ID Protection's user risk: by default an approver weighs any active risk (the card shows it).
      default: { justification: 'flag', hr: true, identityRisk: { high: 'review', medium: 'review', low: 'allow' } },
      [ROLE.securityOperator]: {
        name: 'Security Operator: on-call engineers with a ServiceNow ticket and a clear reason go straight through',
        // A thin reason ("investigating alert") is flagged for an approver rather than denied: at 3 a.m. a
        // human who can ask is better than a refusal, and a flag keeps it from being approved automatically.
        justification: 'flag',
        ticket: { required: true, systems: ['ServiceNow'] },
        onCall: true,
        // On-call engineers are paged at night: for this role being on call is the check, so a request
        // outside business hours is not flagged (every other role's off-hours request goes to a person).
        offHours: 'ignore',
        autoApprove: { when: ['onCall', 'ticket'] },
        // Break-glass: "EMERGENCY: …" from an on-call engineer citing an open P1 incident (INC0013001, Alex's)
        // is granted at once, broadcast to the approvers and the security channel, and reviewed afterwards.
        emergency: { incidentPriorities: ['1'], maxPerUserPerDay: 1 },
      },
      [ROLE.helpdeskAdministrator]: {
        name: 'Helpdesk Administrator: ticket checked, a human decides; an account at high risk is refused',
        ticket: { required: true },
        identityRisk: { high: 'deny' },
      },
      [ROLE.globalAdministrator]: {
        name: 'Global Administrator: human-only; the ticket must be open and assigned',
        justification: 'deny',
        ticket: { required: true, mustBeAssignedToRequester: true },
      },
    },
    integrations: simIntegrationSettings(simUrl),
  };
}
