import type { SimContext, CustomExtensionConfig } from './context';
import { parseFaultSpec, type Faults } from './faults';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { ActivationResult, PimEngine, ScheduleRequestBody } from './pim-engine';
import type { Router } from './router';
import type { PimRequest } from './state';
import { issueUserAssertion, sessionClaims } from './user-tokens';

const ctlError = (status: number, code: string, message: string): SimResponse => json(status, { error: { code, message } });

/** The control API shows Graph's `Provisioned` as `Granted`: what a person watching the demo expects. */
function controlStatus(r: PimRequest): string {
  return r.status === 'Provisioned' ? 'Granted' : r.status;
}

function controlView(r: PimRequest): Record<string, unknown> {
  return {
    id: r.id,
    kind: r.kind,
    // Includes the self-service statuses: PendingAdminDecision (a selfExtend) and Canceled.
    status: controlStatus(r),
    action: r.action,
    principalId: r.principalId,
    roleDefinitionId: r.roleDefinitionId,
    ...(r.kind === 'group' ? { groupId: r.groupId, accessId: r.accessId } : {}),
    ...(r.kind === 'azureResource' ? { scope: r.scope, approvalId: r.approvalId } : {}),
    justification: r.justification,
    ticketInfo: r.ticketInfo,
    scheduleInfo: r.scheduleInfo,
    createdDateTime: r.createdDateTime,
    completedDateTime: r.completedDateTime,
    approval: r.approval
      ? {
          id: r.approval.id,
          steps: r.approval.steps.map((s) => ({
            id: s.id,
            status: s.status,
            reviewResult: s.reviewResult,
            reviewedBy: s.reviewedBy ? { id: s.reviewedBy.id, userPrincipalName: s.reviewedBy.userPrincipalName } : null,
            justification: s.justification,
            reviewedDateTime: s.reviewedDateTime,
            approverIds: s.approverIds,
          })),
        }
      : null,
    evaluation: r.evaluation ?? null,
    failureReason: r.failureReason ?? null,
  };
}

export interface ControlDeps {
  faults: Faults;
  setCustomExtension(cfg: CustomExtensionConfig | undefined): void;
}

export function registerControl(router: Router, ctx: SimContext, pim: PimEngine, deps: ControlDeps): void {
  const body = (req: SimRequest) => jsonBody<Record<string, unknown>>(req) ?? {};
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

  router.add('POST', '/_sim/requests', async (req) => {
    const b = body(req);
    const user = ctx.state.user(str(b.principal));
    if (!user) return ctlError(400, 'InvalidPrincipal', `principal: no user with UPN or id '${String(b.principal)}'.`);
    const minutes = b.durationMinutes === undefined ? 60 : Number(b.durationMinutes);
    if (!Number.isInteger(minutes) || minutes <= 0) return ctlError(400, 'InvalidDuration', 'durationMinutes: must be a positive whole number.');
    const duration = minutes % 60 === 0 ? `PT${minutes / 60}H` : `PT${minutes}M`;
    const common = {
      principalId: user.id,
      justification: str(b.justification) ?? null,
      duration,
      ticketNumber: str(b.ticketNumber) ?? null,
      ticketSystem: str(b.ticketSystem) ?? (str(b.ticketNumber) ? 'ServiceNow' : null),
    };
    // A portal activation: the portal already challenged MFA. Three forms: role, group, azureRole.
    let result: ActivationResult;
    if (b.group !== undefined) {
      const found = ctx.state.pimGroup(str(b.group));
      if (!found) return ctlError(400, 'InvalidGroup', `group: no PIM-enabled group named or with id '${String(b.group)}'.`);
      result = await pim.activateGroup({ ...common, groupId: found.group.id, accessId: str(b.accessId) ?? 'member' }, { mfaSatisfied: true });
    } else if (b.azureRole !== undefined) {
      const scope = str(b.scope) ?? ctx.state.seed.azureRoles?.[0]?.scope ?? '';
      const role = ctx.state.azureRole(str(b.azureRole), scope);
      if (!role) return ctlError(400, 'InvalidAzureRole', `azureRole: no PIM-managed Azure role '${String(b.azureRole)}' at scope '${scope}'.`);
      result = await pim.activateAzure({ ...common, roleDefinitionId: role.id, scope: role.scope }, { mfaSatisfied: true });
    } else {
      const role = ctx.state.role(str(b.role));
      if (!role) return ctlError(400, 'InvalidRole', `role: no role named or with template id '${String(b.role)}'.`);
      result = await pim.activate({ ...common, roleDefinitionId: role.id }, { mfaSatisfied: true });
    }
    if (!result.ok) return ctlError(400, result.code, result.message);
    return json(201, { id: result.request.id, status: controlStatus(result.request) });
  });

  // PIM holds a request as this callout body describes it, without calling the extension (tests that play PIM's callout).
  router.add('POST', '/_sim/requests/adopt', (req) => {
    const result = pim.adopt(body(req) as ScheduleRequestBody);
    if (!result.ok) return ctlError(400, result.code, result.message);
    return json(201, controlView(result.request));
  });
  router.add('GET', '/_sim/requests', () => json(200, { value: pim.all().map(controlView) }));
  router.add('GET', '/_sim/requests/:id', (_req, p) => {
    const r = pim.get(p.id);
    return r ? json(200, controlView(r)) : ctlError(404, 'NotFound', `No request '${p.id}'.`);
  });

  router.add('POST', '/_sim/decide', (req) => {
    const b = body(req);
    const approver = ctx.state.user(str(b.approver));
    if (!approver) return ctlError(400, 'InvalidApprover', `approver: no user with UPN or id '${String(b.approver)}'.`);
    if (!str(b.requestId)) return ctlError(400, 'InvalidRequestId', 'requestId: required.');
    const result = pim.decide(str(b.requestId)!, approver.id, b.reviewResult, b.justification);
    if (!result.ok) return ctlError(result.status, result.code, result.message);
    return json(200, controlView(result.request));
  });

  router.add('GET', '/_sim/directory', () =>
    json(200, {
      tenantId: ctx.tenantId,
      users: ctx.state.seed.users.map((u) => ({ id: u.id, userPrincipalName: u.userPrincipalName, displayName: u.displayName, teamsUserId: u.teamsUserId })),
      roles: ctx.state.seed.roles.map((r) => ({ id: r.id, displayName: r.displayName, approvers: ctx.state.approverIds(r), eligible: r.eligible })),
      groups: (ctx.state.seed.pimGroups ?? []).map((g) => ({
        id: g.groupId,
        displayName: ctx.state.group(g.groupId)?.displayName,
        approvers: ctx.state.approverIds(g),
        eligible: g.eligible,
      })),
      azureRoles: (ctx.state.seed.azureRoles ?? []).map((r) => ({
        id: r.id,
        displayName: r.displayName,
        scope: r.scope,
        approvers: ctx.state.approverIds(r),
        eligible: r.eligible,
      })),
    }),
  );

  router.add('POST', '/_sim/faults', (req) => {
    let raw: unknown;
    try {
      raw = req.body.length ? JSON.parse(req.body.toString('utf8')) : undefined;
    } catch {
      return ctlError(400, 'InvalidJson', 'The body is not JSON.');
    }
    const parsed = parseFaultSpec(raw);
    if (!parsed.ok) return ctlError(400, parsed.code, parsed.message);
    const f = deps.faults.add(parsed.spec);
    return json(201, { id: f.id });
  });
  router.add('GET', '/_sim/faults', () => json(200, { value: deps.faults.describe() }));
  router.add('DELETE', '/_sim/faults', () => {
    deps.faults.clear();
    return { status: 204 };
  });

  router.add('GET', '/_sim/calls', () => json(200, { value: ctx.state.calls }));
  router.add('DELETE', '/_sim/calls', () => {
    ctx.state.calls.length = 0;
    return { status: 204 };
  });

  router.add('POST', '/_sim/clock', (req) => {
    const minutes = Number(body(req).advanceMinutes);
    if (!Number.isFinite(minutes) || minutes < 0) return ctlError(400, 'InvalidAdvance', 'advanceMinutes: must be a non-negative number.');
    ctx.state.advanceClock(minutes * 60_000);
    return json(200, { now: ctx.state.now().toISOString() });
  });
  router.add('GET', '/_sim/clock', () => json(200, { now: ctx.state.now().toISOString() }));

  const userOf = (b: Record<string, unknown>) => ctx.state.user(str(b.user)) ?? ctx.state.userByChannelId(str(b.user));
  // Sign-in with a strength: `mfa` (default true) decides amr, `acrs` the authentication contexts satisfied.
  router.add('POST', '/_sim/signin', (req) => {
    const b = body(req);
    const user = userOf(b);
    if (!user) return ctlError(400, 'InvalidUser', `user: no user '${String(b.user)}'.`);
    if (b.mfa !== undefined && typeof b.mfa !== 'boolean') return ctlError(400, 'InvalidMfa', 'mfa: must be true or false.');
    if (b.acrs !== undefined && (!Array.isArray(b.acrs) || !b.acrs.every((a) => typeof a === 'string' && a.trim()))) {
      return ctlError(400, 'InvalidAcrs', "acrs: must be an array of authentication context ids, e.g. ['c1'].");
    }
    const s = ctx.state.signIn(user.id, { mfa: b.mfa as boolean | undefined, acrs: (b.acrs as string[] | undefined)?.map((a) => a.trim()) });
    return json(200, { user: user.id, signedIn: true, mfa: s.mfa, acrs: s.acrs });
  });
  router.add('POST', '/_sim/signout', (req) => {
    const b = body(req);
    const user = userOf(b);
    if (!user) return ctlError(400, 'InvalidUser', `user: no user '${String(b.user)}'.`);
    ctx.state.signOut(user.id);
    return json(200, { user: user.id, signedIn: false });
  });

  router.add('POST', '/_sim/tokens/user', async (req) => {
    const user = ctx.state.user(str(body(req).user));
    if (!user) return ctlError(400, 'InvalidUser', `user: no user '${String(body(req).user)}'.`);
    // The user's session strength when one was set; MFA and no authentication context otherwise.
    const session = ctx.state.sessions.get(user.id);
    return json(200, { token: await issueUserAssertion(ctx, user, session ? sessionClaims(session) : {}) });
  });

  router.add('PUT', '/_sim/custom-extension', (req) => {
    const b = body(req);
    if (!str(b.targetUrl) || !str(b.resourceId)) return ctlError(400, 'InvalidExtension', 'targetUrl and resourceId are required.');
    deps.setCustomExtension(b as unknown as CustomExtensionConfig);
    return json(200, b);
  });
  router.add('DELETE', '/_sim/custom-extension', () => {
    deps.setCustomExtension(undefined);
    return { status: 204 };
  });

  router.add('GET', '/_sim/signin-page', () => ({
    status: 200,
    headers: { 'Content-Type': 'text/html; charset=utf-8' },
    body: '<!doctype html><title>Simulated sign-in</title><p>Sign-in is simulated: use POST /_sim/signin {user}.</p>',
  }));
}
