import type { SimContext } from './context';
import { json, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import type { SeedIdentityProtection, SeedRiskDetection, SeedRiskyUser } from './seed';
import { contextUrl, graphCaller, graphError, isResponse, matchesFilter, page, parseFilter, type GraphCaller } from './graph-common';

/**
 * Microsoft Entra ID Protection through Graph (v1.0 and beta):
 * - `GET /identityProtection/riskyUsers/{id}`: a user's risk; 404 for a user ID Protection never rated;
 * - `GET /identityProtection/riskyUsers?$filter=`: the rated users (`riskLevel`, `riskState`, `id`, `userPrincipalName` eq);
 * - `GET /identityProtection/riskDetections?$filter=userId eq '…'&$top=&$orderby=detectedDateTime desc`.
 * Reading risky users needs IdentityRiskyUser.Read.All, detections IdentityRiskEvent.Read.All (application
 * permission, or the delegated scope). Times are relative to the simulator clock, so the seed stays recent.
 */
const RISKY_USER_PERMISSION = 'IdentityRiskyUser.Read.All';
const RISK_EVENT_PERMISSION = 'IdentityRiskEvent.Read.All';

function has(caller: GraphCaller, permission: string): boolean {
  const granted = caller.kind === 'app' ? caller.roles : caller.scopes;
  return granted.includes(permission) || granted.includes(permission.replace('.Read.', '.ReadWrite.'));
}

export function registerGraphIdentityProtection(router: Router, ctx: SimContext): void {
  const data = (): SeedIdentityProtection => ctx.state.seed.identityProtection ?? { riskyUsers: [], riskDetections: [] };
  const hoursAgo = (h: number) => new Date(ctx.state.now().getTime() - h * 3_600_000).toISOString();

  const riskyUser = (r: SeedRiskyUser): Record<string, unknown> => {
    const u = ctx.state.user(r.userId);
    return {
      id: r.userId,
      isDeleted: !u,
      isProcessing: false,
      riskLastUpdatedDateTime: hoursAgo(r.updatedHoursAgo),
      riskLevel: r.riskLevel,
      riskState: r.riskState,
      riskDetail: r.riskDetail,
      userDisplayName: u?.displayName ?? null,
      userPrincipalName: u?.userPrincipalName ?? null,
    };
  };

  const detection = (d: SeedRiskDetection): Record<string, unknown> => {
    const u = ctx.state.user(d.userId);
    const at = hoursAgo(d.detectedHoursAgo);
    return {
      id: d.id,
      requestId: d.activity === 'signin' ? `${d.id.slice(0, 8)}-0000-4000-8000-${d.id.slice(-12)}` : null,
      correlationId: d.activity === 'signin' ? `${d.id.slice(-8)}-1111-4000-8000-${d.id.slice(0, 12)}` : null,
      riskEventType: d.riskEventType,
      riskState: d.riskState,
      riskLevel: d.riskLevel,
      riskDetail: d.riskDetail,
      source: d.source,
      detectionTimingType: d.detectionTimingType,
      activity: d.activity,
      tokenIssuerType: 'AzureAD',
      ipAddress: d.ipAddress,
      location: d.location ? { ...d.location, geoCoordinates: null } : null,
      activityDateTime: at,
      detectedDateTime: at,
      lastUpdatedDateTime: at,
      userId: d.userId,
      userDisplayName: u?.displayName ?? null,
      userPrincipalName: u?.userPrincipalName ?? null,
      additionalInfo: '[]',
    };
  };

  const authorised = async (req: SimRequest, permission: string): Promise<GraphCaller | SimResponse> => {
    const caller = await graphCaller(ctx, req);
    if (isResponse(caller)) return caller;
    if (!has(caller, permission))
      return graphError(
        req,
        403,
        'Forbidden',
        `Missing permission ${permission}: ID Protection data needs it as an application permission (app-only) or a delegated scope.`,
      );
    return caller;
  };

  for (const v of ['v1.0', 'beta']) {
    router.add('GET', `/${v}/identityProtection/riskyUsers/:id`, async (req, p) => {
      const caller = await authorised(req, RISKY_USER_PERMISSION);
      if (isResponse(caller)) return caller;
      const r = data().riskyUsers.find((x) => x.userId.toLowerCase() === p.id!.toLowerCase());
      if (!r) return graphError(req, 404, 'ResourceNotFound', `The requested risky user '${p.id}' was not found.`);
      return json(200, { '@odata.context': contextUrl(req, 'identityProtection/riskyUsers/$entity'), ...riskyUser(r) });
    });

    router.add('GET', `/${v}/identityProtection/riskyUsers`, async (req) => {
      const caller = await authorised(req, RISKY_USER_PERMISSION);
      if (isResponse(caller)) return caller;
      const clauses = parseFilter(req.query.get('$filter'));
      if (clauses === 'invalid') return graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);
      const items = data()
        .riskyUsers.map(riskyUser)
        .filter((r) => matchesFilter(r, clauses));
      return page(req, items, 'identityProtection/riskyUsers', 20, 500);
    });

    router.add('GET', `/${v}/identityProtection/riskDetections`, async (req) => {
      const caller = await authorised(req, RISK_EVENT_PERMISSION);
      if (isResponse(caller)) return caller;
      const clauses = parseFilter(req.query.get('$filter'));
      if (clauses === 'invalid') return graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);
      const orderBy = req.query.get('$orderby');
      const order =
        orderBy === null
          ? 'desc'
          : (/^\s*detectedDateTime(\s+(asc|desc))?\s*$/i.exec(orderBy)?.[2]?.toLowerCase() ?? (/^\s*detectedDateTime\s*$/i.test(orderBy) ? 'asc' : null));
      if (!order) return graphError(req, 400, 'BadRequest', `The $orderby '${orderBy}' is not supported; order by detectedDateTime.`);
      const items = data()
        .riskDetections.map(detection)
        .filter((d) => matchesFilter(d, clauses))
        .sort((a, b) => (order === 'desc' ? -1 : 1) * (Date.parse(String(a.detectedDateTime)) - Date.parse(String(b.detectedDateTime))));
      return page(req, items, 'identityProtection/riskDetections', 100, 500);
    });
  }
}
