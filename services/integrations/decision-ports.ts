import type { DecisionPorts } from '../decision/evaluate-activation';
import type { DecisionPolicy } from '../decision/policy';
import type { AppGraph } from '../graph/app-clients';
import { requesterLookup } from '../graph/requester-lookup';
import { createIntegrations, type Integrations, parseIntegrationsSettings } from './settings';

/**
 * The systems of record the policy's `integrations` block names (tickets, on-call, HR, identity risk), and the
 * decision's ports over them and the directory (app-only Graph). `secret` resolves `{"secret": "NAME"}` (the
 * validated config's).
 */
export function buildDecisionPorts(
  policy: Pick<DecisionPolicy, 'integrations'>,
  app: Pick<AppGraph, 'graph' | 'directory'>,
  secret: (name: string) => string | undefined,
): { integrations: Integrations; decisionPorts: DecisionPorts } {
  const integrations = createIntegrations(parseIntegrationsSettings(policy.integrations ?? {}), { graph: app.graph, secret });
  const decisionPorts: DecisionPorts = {
    requester: (principalId) => requesterLookup(app.directory, principalId),
    tickets: integrations.ticketSystems,
    onCall: integrations.onCall,
    hr: integrations.hr,
    identityRisk: integrations.identityRisk,
  };
  return { integrations, decisionPorts };
}
