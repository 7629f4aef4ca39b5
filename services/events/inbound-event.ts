import { z } from 'zod';
import { type ActivationRequest, normaliseActivationRequest, ShapeError } from '../decision/activation-request';

/**
 * Events a customer's own decision service (Logic Apps, ServiceNow flows) sends to
 * POST /api/pim/events: an escalation (a human must decide this PIM request) or a post-approval
 * notification (PIM's request reached an outcome). Documented in docs/events.schema.json; keep
 * the two in step (services/events/inbound-event.test.ts checks both against the same samples).
 */
export const EVENT_TYPES = ['escalation', 'postApproval'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const POST_APPROVAL_OUTCOMES = ['granted', 'denied', 'activated', 'expired', 'cancelled'] as const;
export type PostApprovalOutcome = (typeof POST_APPROVAL_OUTCOMES)[number];

export interface InboundEvent {
  eventId: string;
  type: EventType;
  occurredAt: string;
  request: ActivationRequest;
  outcome?: PostApprovalOutcome;
  decidedBy?: { id: string; userPrincipalName?: string; displayName?: string };
  justification?: string;
  reasons?: string[];
  activeUntil?: string;
}

const DATE_TIME_MESSAGE = 'must be an ISO 8601 date-time with a time zone, e.g. 2026-03-02T08:00:00Z';
// zod's pattern lets offsets such as +25:00 through, which name no instant (Date gives NaN).
const isoDateTime = z
  .string()
  .max(64)
  .datetime({ offset: true, message: DATE_TIME_MESSAGE })
  .refine((v) => Number.isFinite(Date.parse(v)), DATE_TIME_MESSAGE);

const activationRequest = z.unknown().transform((value, ctx): ActivationRequest => {
  try {
    return normaliseActivationRequest(value);
  } catch (err) {
    if (!(err instanceof ShapeError)) throw err;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: err.message });
    return z.NEVER;
  }
});

const eventSchema = z
  .object({
    eventId: z.string({ required_error: 'required: a unique id for this event (1-128 characters)' }).min(1).max(128),
    type: z.enum(EVENT_TYPES, { required_error: "required: 'escalation' or 'postApproval'" }),
    occurredAt: isoDateTime,
    request: activationRequest,
    outcome: z.enum(POST_APPROVAL_OUTCOMES).optional(),
    decidedBy: z
      .object({
        id: z.string().min(1).max(128),
        userPrincipalName: z.string().min(1).max(256).optional(),
        displayName: z.string().min(1).max(256).optional(),
      })
      .strict()
      .optional(),
    justification: z.string().max(4000).optional(),
    reasons: z.array(z.string().min(1).max(1000)).max(20).optional(),
    activeUntil: isoDateTime.optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.type === 'postApproval' && !e.outcome) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['outcome'], message: `required for postApproval: one of ${POST_APPROVAL_OUTCOMES.join(', ')}` });
    }
    if (e.type === 'escalation' && e.outcome) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['outcome'], message: 'only for postApproval events: an escalation asks a human to decide' });
    }
  });

export class EventShapeError extends Error {
  constructor(
    /** Dotted path of the first field at fault, '' for the body itself. */
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'EventShapeError';
  }
}

/** Validates and normalises an event body; throws EventShapeError naming the field at fault. */
export function parseInboundEvent(body: unknown): InboundEvent {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EventShapeError('', 'The body must be a JSON object: {eventId, type, occurredAt, request, ...} (docs/events.schema.json).');
  }
  const result = eventSchema.safeParse(body);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 5);
    const field = issues[0]!.path.join('.');
    const message = issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new EventShapeError(field, `Invalid event: ${message}.`);
  }
  return result.data as InboundEvent;
}
