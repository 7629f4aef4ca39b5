/**
 * Benchmark child: the tenant simulator in a process of its own. Besides the simulator's HTTP control
 * API, it answers: `seedPending` (pending PIM requests put straight into the simulator's state, for the
 * reconciler's 10,000; filing them through PIM's rules one by one scans every earlier request),
 * `decide` (portal decisions), `calls` / `callSummary` (its call log).
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { startSimulator } from '../../../sim/server';
import { DEMO_PIM_CALLER_APP_ID, ROLE, seedTenant, USER } from '../../../sim/seed';
import type { CallRecord, PimRequest } from '../../../sim/state';
import { childArgs, PKI_DIR, serveParent } from '../lib/children';
import { APP_ID_URI, benchTenant, type BenchTenantOptions } from '../lib/tenant';

export interface SimArgs {
  tenant: 'demo' | BenchTenantOptions;
}

export interface SimReady {
  url: string;
  tenantId: string;
  /** PIM's token for the decision endpoint (and the post-approval callout), valid 2 hours. */
  pimToken: string;
}

export interface CallSummary {
  total: number;
  /** Graph calls (v1.0 and beta) made over HTTP, batch items not counted. */
  graphHttp: number;
  /** `$batch` calls among them, and the requests they carried. */
  batches: number;
  batchItems: number;
  graphPatches: number;
  /** Entra token requests (client credentials, on-behalf-of). */
  entraTokens: number;
  /** Entra OpenID metadata reads (MSAL reads them once per client it creates). */
  entraMetadata: number;
  /** Bot Framework token service calls. */
  tokenService: number;
  /** Calls to the simulated ticket, on-call and HR systems. */
  integrations: number;
}

const GRAPH = /^\/(v1\.0|beta)\//;

export function summarizeCalls(calls: ReadonlyArray<CallRecord & { batchItemOf?: string }>): CallSummary {
  const s: CallSummary = {
    total: calls.length,
    graphHttp: 0,
    batches: 0,
    batchItems: 0,
    graphPatches: 0,
    entraTokens: 0,
    entraMetadata: 0,
    tokenService: 0,
    integrations: 0,
  };
  for (const c of calls) {
    if (c.batchItemOf) {
      s.batchItems++;
      continue;
    }
    if (GRAPH.test(c.path)) {
      s.graphHttp++;
      if (/\/\$batch$/.test(c.path)) s.batches++;
      if (c.method === 'PATCH') s.graphPatches++;
    } else if (/\/oauth2\/v2\.0\/token$/.test(c.path)) s.entraTokens++;
    else if (/\/\.well-known\/openid-configuration$/.test(c.path)) s.entraMetadata++;
    else if (/^\/api\/usertoken\//i.test(c.path)) s.tokenService++;
    else if (/^\/(servicenow|pagerduty|opsgenie|jira)\//.test(c.path)) s.integrations++;
  }
  return s;
}

async function main(): Promise<void> {
  const args = childArgs<SimArgs>();
  // Each call held by an injected latency listens on the simulator's closing signal; under benchmark load
  // more than ten wait at once, which is expected here (Node would warn of a leak).
  setMaxListeners(10_000);
  const seed = args.tenant === 'demo' ? seedTenant : benchTenant(args.tenant);
  const sim = await startSimulator({ pkiDir: PKI_DIR, port: 0, seed });
  const pimToken = await sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID }, { expiresInSeconds: 7200 });
  const calls = sim.state.calls as Array<CallRecord & { batchItemOf?: string }>;

  serveParent({ url: sim.url, tenantId: sim.tenantId, pimToken } satisfies SimReady, {
    /** `n` requests pending approval (User Administrator, requesters taking turns), as PIM files them after an `Approved` evaluation. */
    seedPending(a: { n: number }) {
      const role = sim.state.role(ROLE.userAdministrator)!;
      const principals = [USER.isaiah, USER.lynne, USER.patti];
      const approverIds = sim.state.approverIds(role);
      const now = sim.state.now().toISOString();
      const ids: string[] = [];
      for (let i = 0; i < a.n; i++) {
        const id = randomUUID();
        const request: PimRequest = {
          id,
          kind: 'entraRole',
          status: 'PendingApproval',
          action: 'selfActivate',
          collection: 'assignment',
          principalId: principals[i % principals.length]!,
          roleDefinitionId: role.id,
          directoryScopeId: '/',
          justification: 'Quarterly access review of the finance mailboxes, INC0012345',
          scheduleInfo: { startDateTime: now, expiration: { type: 'afterDuration', duration: 'PT2H' } },
          ticketInfo: { ticketNumber: 'INC0012345', ticketSystem: 'ServiceNow' },
          createdDateTime: now,
          completedDateTime: null,
          approvalId: id,
          targetScheduleId: id,
          approval: {
            id,
            steps: [
              {
                id: randomUUID(),
                displayName: null,
                status: 'InProgress',
                reviewResult: 'NotReviewed',
                reviewedDateTime: null,
                justification: null,
                reviewedBy: null,
                approverIds,
                isApproverJustificationRequired: true,
              },
            ],
          },
        };
        sim.state.requests.set(id, request);
        ids.push(id);
      }
      return { ids, principals: ids.map((id) => sim.state.requests.get(id)!.principalId), roleDefinitionId: role.id };
    },
    /** Decisions taken in the PIM portal. */
    decide(a: { ids: string[]; approver: string; reviewResult: 'Approve' | 'Deny' }) {
      let ok = 0;
      for (const id of a.ids) if (sim.pim.decide(id, a.approver, a.reviewResult, 'Decided in the portal').ok) ok++;
      return ok;
    },
    callCount: () => calls.length,
    calls: (a: { from: number }) => calls.slice(a.from),
    callSummary: (a: { from: number }) => summarizeCalls(calls.slice(a.from)),
    /** PIM's view of requests: status counts. */
    statuses(a: { ids: string[] }) {
      const out: Record<string, number> = {};
      for (const id of a.ids) {
        const s = sim.pim.get(id)?.status ?? 'missing';
        out[s] = (out[s] ?? 0) + 1;
      }
      return out;
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`sim child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
