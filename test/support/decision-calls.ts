import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_PIM_CALLER_APP_ID } from '../../sim/seed';
import { APP_ID_URI, type Harness } from './harness';

/** PIM's callouts to the decision endpoint, built and sent the way PIM does, and what the bot stored. */

export type Outcome = 'Approved' | 'AutoApproved' | 'Denied';

export interface Answer {
  status: number;
  evaluationId: string;
  evaluationOutcome: Outcome;
  reason: string[];
}

/** One check as the bot stores it with the evaluation (the `checks` JSON array). */
export interface StoredCheck {
  name: string;
  result: 'pass' | 'fail' | 'unavailable' | 'skipped';
  onFail: 'deny' | 'review';
  summary: string;
  [more: string]: unknown;
}

export interface EntraCallout {
  principalId: string;
  roleDefinitionId: string;
  justification?: string;
  /** `null`: no ticketInfo at all. */
  ticket?: { number: string; system: string } | null;
  /** Defaults to now. */
  startDateTime?: string;
  /** Defaults to one hour (`afterDuration`, PT1H). */
  expiration?: Record<string, unknown>;
  /** Defaults to a new GUID: each callout is a new PIM request unless the test resends one. */
  id?: string;
}

export const GOOD_JUSTIFICATION = 'Rotate the payroll signing certificate under the approved change; rollback plan is in the ticket';

/** An Entra role activation as PIM posts it to a pre-approval custom extension. */
export function entraCallout(c: EntraCallout): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
    id: c.id ?? randomUUID(),
    status: 'PendingApproval',
    action: 'selfActivate',
    principalId: c.principalId,
    roleDefinitionId: c.roleDefinitionId,
    directoryScopeId: '/',
    justification: c.justification ?? GOOD_JUSTIFICATION,
    scheduleInfo: {
      startDateTime: c.startDateTime ?? new Date().toISOString(),
      expiration: c.expiration ?? { type: 'afterDuration', duration: 'PT1H' },
    },
    ticketInfo: c.ticket ? { ticketNumber: c.ticket.number, ticketSystem: c.ticket.system } : null,
  };
}

/** A fixture from test/fixtures/pim-extension (the doc's request shapes). */
export function calloutFixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(__dirname, '../fixtures/pim-extension', name), 'utf8')) as Record<string, any>;
}

/**
 * POSTs a callout with a fresh token from PIM's app, exactly as `body` is (a retry resends the same body).
 * `correlationId` (a GUID) becomes the `client-request-id` of every Graph call the bot makes for it.
 */
export async function postCallout(h: Harness, body: unknown, opts: { correlationId?: string } = {}): Promise<Answer> {
  const token = await h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID });
  const res = await fetch(`${h.bot.url}/api/pim/evaluate`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(opts.correlationId ? { 'x-correlation-id': opts.correlationId } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`The decision endpoint answered ${res.status}: ${text}`);
  return { status: res.status, ...(JSON.parse(text) as Omit<Answer, 'status'>) };
}

export interface StoredEvaluation {
  outcome: Outcome;
  wouldBe: Outcome;
  mode: string;
  reasons: string[];
  checks: StoredCheck[];
}

/** The evaluation the bot stored under a request key (`entraRole:<PIM request id>`). */
export async function storedEvaluation(h: Harness, requestKey: string): Promise<StoredEvaluation> {
  const row = await h.bot.store.evaluations.find(requestKey);
  if (!row) throw new Error(`No evaluation stored for ${requestKey}`);
  return {
    outcome: row.outcome as Outcome,
    wouldBe: row.would_be as Outcome,
    mode: row.mode,
    reasons: JSON.parse(row.reasons) as string[],
    checks: JSON.parse(row.checks) as StoredCheck[],
  };
}

export const entraKey = (body: Record<string, unknown>) => `entraRole:${String(body.id).toLowerCase()}`;
