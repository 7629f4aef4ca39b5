import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../audit/canonical';

/**
 * The three body shapes PIM posts to a pre-approval custom extension, and the one shape the rest of
 * the product works with. Shapes follow the PIM custom extension doc; see
 * ../shared/fixtures/pim-extension/README.md for which fields the doc confirms.
 */
export type ActivationKind = 'entraRole' | 'group' | 'azureResource';

export interface ActivationRequest {
  kind: ActivationKind;
  /** PIM's request id; the Azure resource shape carries none. */
  pimRequestId: string | null;
  /** Stable key for idempotency: PIM's id, or a digest of the ARM body (PIM retries resend it unchanged). */
  requestKey: string;
  principalId: string;
  /** Entra role definition id, `member`/`owner` for groups, or the ARM role definition path. */
  roleDefinitionId: string;
  /** Directory scope id, the group id, or the ARM scope. */
  scope: string;
  justification: string;
  ticket: { system: string; number: string } | null;
  startDateTime: string | null;
  /** ISO 8601 duration as sent, e.g. PT4H. */
  duration: string | null;
  durationMinutes: number | null;
  /** The end as a date-time, when PIM gives the expiration as `afterDateTime`. */
  endDateTime: string | null;
  action: string;
}

const guid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a GUID');
const shortText = z.string().max(4000);

/** A date-time the checks can compute with: PIM sends ISO 8601 with an offset or Z. */
const dateTime = z
  .string()
  .max(64)
  .refine((v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v) && !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 date-time such as 2026-03-02T08:00:00Z');

const expiration = z
  .object({
    type: z.string().max(64).optional().nullable(),
    duration: z
      .string()
      .max(64)
      .refine((v) => isoDurationMinutes(v) !== null, 'must be an ISO 8601 duration such as PT4H')
      .optional()
      .nullable(),
    endDateTime: dateTime.optional().nullable(),
  })
  .passthrough();

const scheduleInfo = z.object({ startDateTime: dateTime.optional().nullable(), expiration: expiration.optional().nullable() }).passthrough();

const ticketInfo = z.object({ ticketNumber: z.string().max(256).optional().nullable(), ticketSystem: z.string().max(256).optional().nullable() }).passthrough();

const entraRoleBody = z
  .object({
    '@odata.type': z.literal('#microsoft.graph.unifiedRoleAssignmentScheduleRequest').optional(),
    id: guid,
    action: z.string().max(64),
    principalId: guid,
    roleDefinitionId: guid,
    directoryScopeId: z.string().max(1024).optional().nullable(),
    justification: shortText.optional().nullable(),
    scheduleInfo: scheduleInfo.optional().nullable(),
    ticketInfo: ticketInfo.optional().nullable(),
    status: z.string().max(64).optional().nullable(),
  })
  .passthrough();

const groupBody = z
  .object({
    '@odata.type': z.literal('#microsoft.graph.privilegedAccessGroupAssignmentScheduleRequest').optional(),
    id: guid,
    action: z.string().max(64),
    principalId: guid,
    accessId: z.enum(['member', 'owner']),
    groupId: guid,
    justification: shortText.optional().nullable(),
    scheduleInfo: scheduleInfo.optional().nullable(),
    ticketInfo: ticketInfo.optional().nullable(),
    status: z.string().max(64).optional().nullable(),
  })
  .passthrough();

const azureResourceBody = z.object({
  properties: z
    .object({
      principalId: guid,
      principalType: z.string().max(64).optional(),
      requestType: z.string().max(64),
      roleDefinitionId: z
        .string()
        .regex(/^\/.+\/providers\/Microsoft\.Authorization\/roleDefinitions\/[0-9a-fA-F-]{36}$/i, 'must be an ARM role definition id'),
      scope: z.string().min(1).max(1024).startsWith('/'),
      justification: shortText.optional().nullable(),
      scheduleInfo: scheduleInfo.optional().nullable(),
      ticketInfo: ticketInfo.optional().nullable(),
    })
    .passthrough(),
});

/**
 * How long a stored evaluation answers an Azure resource callout with the same body (its shape has no
 * request id): PIM retries within its timeout and a few retries; later, the same body is a new request
 * and is evaluated again (a same-day request with the same text must not inherit an old AutoApproved).
 */
export const AZURE_RETRY_WINDOW_MS = 10 * 60_000;

export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** Recognises the body's shape and normalises it; throws ShapeError naming what is wrong. */
export function normaliseActivationRequest(body: unknown): ActivationRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ShapeError('The body must be a JSON object: a PIM role, group or Azure resource activation request.');
  }
  const record = body as Record<string, unknown>;
  const odataType = record['@odata.type'];
  if ('properties' in record) return fromAzureResource(parse(azureResourceBody, body, 'Azure resource'));
  if (odataType === '#microsoft.graph.privilegedAccessGroupAssignmentScheduleRequest' || ('groupId' in record && !('roleDefinitionId' in record))) {
    return fromGroup(parse(groupBody, body, 'PIM for Groups'));
  }
  if (odataType === '#microsoft.graph.unifiedRoleAssignmentScheduleRequest' || 'roleDefinitionId' in record) {
    return fromEntraRole(parse(entraRoleBody, body, 'Entra role'));
  }
  throw new ShapeError(
    "Unknown request shape: expected a '#microsoft.graph.unifiedRoleAssignmentScheduleRequest' (Entra role), " +
      "a '#microsoft.graph.privilegedAccessGroupAssignmentScheduleRequest' (group) or an ARM body with 'properties' (Azure resource).",
  );
}

function parse<T>(schema: z.ZodType<T>, body: unknown, label: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
      .join('; ');
    throw new ShapeError(`Invalid ${label} activation request: ${issues}.`);
  }
  return result.data;
}

type Schedule = z.infer<typeof scheduleInfo> | null | undefined;
type Ticket = z.infer<typeof ticketInfo> | null | undefined;

function fromEntraRole(b: z.infer<typeof entraRoleBody>): ActivationRequest {
  return {
    kind: 'entraRole',
    pimRequestId: b.id.toLowerCase(),
    requestKey: `entraRole:${b.id.toLowerCase()}`,
    principalId: b.principalId.toLowerCase(),
    roleDefinitionId: b.roleDefinitionId.toLowerCase(),
    scope: b.directoryScopeId || '/',
    justification: b.justification ?? '',
    ticket: ticketOf(b.ticketInfo),
    ...scheduleOf(b.scheduleInfo),
    action: b.action,
  };
}

function fromGroup(b: z.infer<typeof groupBody>): ActivationRequest {
  return {
    kind: 'group',
    pimRequestId: b.id.toLowerCase(),
    requestKey: `group:${b.id.toLowerCase()}`,
    principalId: b.principalId.toLowerCase(),
    roleDefinitionId: b.accessId,
    scope: b.groupId.toLowerCase(),
    justification: b.justification ?? '',
    ticket: ticketOf(b.ticketInfo),
    ...scheduleOf(b.scheduleInfo),
    action: b.action,
  };
}

function fromAzureResource(b: z.infer<typeof azureResourceBody>): ActivationRequest {
  const p = b.properties;
  // No request id in the ARM shape: the digest of the whole body (canonical JSON, so key order does not
  // matter) stands in for it. PIM's retry resends the body unchanged and maps to the same evaluation; any
  // difference (another justification, ticket, duration, start) is another callout. The decision endpoint
  // reuses an evaluation for the same digest only within AZURE_RETRY_WINDOW_MS.
  const digest = createHash('sha256').update(canonicalJson(b)).digest('hex').slice(0, 32);
  return {
    kind: 'azureResource',
    pimRequestId: null,
    requestKey: `azureResource:${digest}`,
    principalId: p.principalId.toLowerCase(),
    roleDefinitionId: p.roleDefinitionId,
    scope: p.scope,
    justification: p.justification ?? '',
    ticket: ticketOf(p.ticketInfo),
    ...scheduleOf(p.scheduleInfo),
    action: p.requestType,
  };
}

function ticketOf(t: Ticket): ActivationRequest['ticket'] {
  const number = t?.ticketNumber?.trim();
  if (!number) return null;
  return { system: t?.ticketSystem?.trim() ?? '', number };
}

function scheduleOf(s: Schedule): Pick<ActivationRequest, 'startDateTime' | 'duration' | 'durationMinutes' | 'endDateTime'> {
  const duration = s?.expiration?.duration ?? null;
  return {
    startDateTime: s?.startDateTime ?? null,
    duration,
    durationMinutes: duration ? isoDurationMinutes(duration) : null,
    endDateTime: s?.expiration?.endDateTime ?? null,
  };
}

/** Minutes in an ISO 8601 duration of days/hours/minutes (what PIM uses), or null if it is not one. */
export function isoDurationMinutes(duration: string): number | null {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(duration);
  if (!m || duration === 'P' || duration.endsWith('T')) return null;
  const [, d, h, min, s] = m;
  return Math.round(Number(d ?? 0) * 1440 + Number(h ?? 0) * 60 + Number(min ?? 0) + Number(s ?? 0) / 60);
}
