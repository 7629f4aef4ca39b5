import type { TokenCredential } from '@azure/identity';
import { parseDisplay, refOf } from '../../services/approvals/request-display';
import type { AppConfig } from '../../services/config/config';
import { GraphSelfService } from '../../services/elevation/self-service';
import { GraphAdminSchedules } from '../../services/graph/admin-schedules';
import { ArmClient, ArmPimApprovals } from '../../services/graph/arm';
import { createGraphClient } from '../../services/graph/graph-client';
import { GraphPimApprovals, type PimApprovals } from '../../services/graph/pim-approvals';
import type { PrometheusMetrics } from '../../services/observability/metrics';
import type { ApprovalRequestRow } from '../../services/store/store';

/** A credential acting as the user whose SSO token is given (on-behalf-of), from onBehalfOfCache. */
type OboFor = (ssoToken: string) => TokenCredential;

/**
 * PIM as the people who click: an approver's decision (Graph for Entra roles and groups, ARM for Azure
 * resources) and a user's own activations, each on behalf of the user whose SSO token is given.
 */
export function pimOnBehalfOf(config: AppConfig, oboFor: OboFor, metrics: PrometheusMetrics) {
  return {
    /** The approver's PIM: Graph for Entra roles and groups (Graph scope), ARM for Azure resources (ARM scope). */
    approvals(row: ApprovalRequestRow, sso: string): PimApprovals {
      const obo = oboFor(sso);
      if (row.kind === 'azureResource')
        return new ArmPimApprovals(new ArmClient(config.armBaseUrl, obo, { metrics }), refOf(row), parseDisplay(row).pimApprovalId);
      return new GraphPimApprovals(
        createGraphClient(config.graphBaseUrl, obo, undefined, { metrics }),
        row.kind === 'group' ? 'group' : 'entraRole',
        config.pimDecisionTimeoutMs,
      );
    },
    /** An administrator's PIM: extending or renewing someone's assignment (adminExtend, adminRenew) as them. */
    adminSchedules(sso: string): GraphAdminSchedules {
      const obo = oboFor(sso);
      return new GraphAdminSchedules(createGraphClient(config.graphBaseUrl, obo, undefined, { metrics }), new ArmClient(config.armBaseUrl, obo, { metrics }));
    },
    /** The user's PIM: Graph for Entra roles and groups, ARM for Azure resources, both on behalf of the user. */
    selfService(sso: string, claims: string | null | undefined): GraphSelfService {
      const obo = withClaims(oboFor(sso), claims);
      return new GraphSelfService(createGraphClient(config.graphBaseUrl, obo, undefined, { metrics }), new ArmClient(config.armBaseUrl, obo, { metrics }));
    },
  };
}

/** Asks Entra for a token that satisfies a claims challenge (a Conditional Access authentication context PIM demanded). */
function withClaims(credential: TokenCredential, claims: string | null | undefined): TokenCredential {
  if (!claims) return credential;
  return { getToken: (scopes, options) => credential.getToken(scopes, { ...options, claims }) };
}
