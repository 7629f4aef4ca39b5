import { z } from 'zod';
import { validTimeZone } from '../jobs/local-time';
import { DEFAULT_IDENTITY_RISK_RULE, type IdentityRiskRule } from './identity-risk';
import { BUILT_IN_HUMAN_ONLY_ROLES } from './role-rules';

/**
 * The decision policy: per-role rules of the pre-approval decision, from a JSON or YAML file
 * (`POLICY_FILE`) validated at start. Keys of `roles`: an Entra role definition id, `group:<groupId>`
 * (PIM for Groups), `azure:<role definition guid>` (Azure resources), or `default`.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export type Weekday = (typeof DAYS)[number];
export const WEEKDAYS: readonly Weekday[] = DAYS;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM, 24-hour');

const isTimeZone = validTimeZone;

const weeklyWindow = z
  .object({
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/Berlin'),
    days: z.array(z.enum(DAYS)).min(1, 'name at least one day, e.g. ["Sat","Sun"]'),
    start: hhmm,
    /** An end at or before the start runs past midnight into the next day. */
    end: hhmm,
  })
  .strict();

const oneOffWindow = z
  .object({
    start: z.string().datetime({ offset: true, message: 'must be an ISO date-time with offset' }),
    end: z.string().datetime({ offset: true, message: 'must be an ISO date-time with offset' }),
  })
  .strict()
  .refine((w) => Date.parse(w.start) < Date.parse(w.end), 'start must be before end');

export type WeeklyWindow = z.infer<typeof weeklyWindow>;
export type OneOffWindow = z.infer<typeof oneOffWindow>;
export type MaintenanceWindow = WeeklyWindow | OneOffWindow;

const checkName = z.enum(['ticket', 'onCall', 'hr', 'maintenanceWindow']);
export type AutoApproveCondition = z.infer<typeof checkName>;

const riskAction = z.enum(['deny', 'review', 'allow'], { errorMap: () => ({ message: 'must be deny, review or allow' }) });

const roleRule = z
  .object({
    /** For people reading the file; the key is what matches. */
    name: z.string().max(200).optional(),
    mode: z.enum(['enforce', 'audit']).optional(),
    justification: z.enum(['deny', 'flag']).optional(),
    ticket: z
      .object({
        required: z.boolean().default(true),
        /** Look the ticket up in its system (open, assigned, change window); false checks the format only. */
        verify: z.boolean().default(true),
        mustBeAssignedToRequester: z.boolean().default(false),
        /** Ticket systems accepted for this role, e.g. ["ServiceNow"]; any known one when omitted. */
        systems: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    /**
     * Ask the on-call services whether the requester is on call now. Every configured provider must
     * answer; `{anyProviderSuffices: true}` lets one provider's "on call" pass although another failed.
     */
    onCall: z
      .union([z.boolean(), z.object({ anyProviderSuffices: z.boolean() }).strict()], {
        errorMap: (issue, ctx) =>
          issue.code === 'invalid_union' ? { message: 'must be true, false or {anyProviderSuffices: true|false}' } : { message: ctx.defaultError },
      })
      .optional(),
    hr: z.boolean().optional(),
    /** `flag` (default): a request starting outside businessHoursUtc is flagged, so a person decides; `ignore`: not checked. */
    offHours: z.enum(['flag', 'ignore']).optional(),
    /**
     * The requester's user risk in Microsoft Entra ID Protection: what high, medium and low active risk
     * do (deny, review by a person, allow). Levels not named keep `default`'s action, then high deny,
     * medium review, low allow. `false` turns the check off for a role. Needs `integrations.identityRisk`.
     */
    identityRisk: z
      .union([z.literal(false), z.object({ high: riskAction.optional(), medium: riskAction.optional(), low: riskAction.optional() }).strict()], {
        errorMap: (issue, ctx) =>
          issue.code === 'invalid_union'
            ? { message: 'must be false, or {high, medium, low} with each deny, review or allow (e.g. {high: deny, medium: review})' }
            : { message: ctx.defaultError },
      })
      .optional(),
    maintenanceWindows: z
      .object({ windows: z.array(z.union([weeklyWindow, oneOffWindow])).min(1), outside: z.enum(['deny', 'flag']).default('deny') })
      .strict()
      .optional(),
    /** Reminders to approvers while a request waits (the stale-request ladder). */
    reminders: z
      .object({
        /** First nudge this long after the request; each later gap doubles (15, 30, 60 … minutes). */
        firstAfterMinutes: z.number().int().min(1).max(600).optional(),
        /** At most this many nudges per request. */
        maxNudges: z.number().int().min(0).max(20).optional(),
        /** Escalate when this share of PIM's 24-hour window has passed. */
        escalateAtShare: z.number().gt(0).lt(1).optional(),
        /** The APPROVER_CHANNELS key of the channel escalations go to; the role's own channel when omitted. */
        escalateTo: z.string().min(1).optional(),
        /** Nudge in quiet hours too (break-glass roles). */
        urgent: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** AutoApproved when every listed check passes (and nothing denies or flags); never for human-only roles. */
    autoApprove: z.union([z.literal('never'), z.object({ when: z.array(checkName).min(1) }).strict()]).optional(),
    /**
     * Break-glass for this role (off when absent; read from the role's own entry, never from `default`; never
     * for a human-only role): a request whose justification starts with `EMERGENCY:` from a requester who is
     * on call and cites an open incident of one of these priorities is AutoApproved, broadcast and reviewed.
     */
    emergency: z
      .object({
        /** The incident priorities that qualify, as the ticket system's choice values (ServiceNow: "1" is Critical). */
        incidentPriorities: z.array(z.string().min(1)).min(1, 'name at least one priority, e.g. ["1"]'),
        /** Emergency grants one user may get in any 24 hours (this role and every other). */
        maxPerUserPerDay: z.number().int().min(1).max(10).default(1),
      })
      .strict()
      .optional(),
  })
  .strict();

export type RoleRule = z.infer<typeof roleRule>;

export const policySchema = z
  .object({
    version: z.literal(1),
    humanOnlyRoleIds: z
      .array(
        z
          .string()
          .regex(
            /^((group|azure):)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
            'must be a role definition id, azure:<role definition guid> or group:<group id>',
          ),
      )
      .default([]),
    businessHoursUtc: z
      .object({ start: z.number().int().min(0).max(23), end: z.number().int().min(1).max(24) })
      .strict()
      .default({ start: 7, end: 19 }),
    roles: z.record(roleRule).default({}),
    /** No non-urgent nudges between start and end in this zone (an end before the start runs past midnight). */
    quietHours: z
      .object({ timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/Berlin'), start: hhmm, end: hhmm })
      .strict()
      .optional(),
    /** Settings of the systems of record (see services/integrations/settings.ts). */
    integrations: z.record(z.unknown()).optional(),
    /** Break-glass grants (roles' `emergency`): who hears of them and how soon a second person reviews them. */
    emergency: z
      .object({
        /** A second person reviews each grant from the admin digest within this many hours (it shows overdue after). */
        reviewWithinHours: z.number().int().min(1).max(168).default(24),
        /** The APPROVER_CHANNELS key of the security channel; falls back to the admin channel, then `default`. */
        securityChannel: z.string().min(1).default('security'),
      })
      .strict()
      .default({}),
  })
  .strict();

export type DecisionPolicy = z.infer<typeof policySchema>;

export interface EffectiveRule {
  mode: 'enforce' | 'audit';
  justification: 'deny' | 'flag';
  ticket: { required: boolean; verify: boolean; mustBeAssignedToRequester: boolean; systems?: string[] } | null;
  onCall: boolean;
  /** One provider's "on call" passes even when another could not answer. */
  onCallAnyProviderSuffices: boolean;
  hr: boolean;
  offHours: 'flag' | 'ignore';
  /** null: user risk is not checked for this role. */
  identityRisk: IdentityRiskRule | null;
  maintenanceWindows: { windows: MaintenanceWindow[]; outside: 'deny' | 'flag' } | null;
  autoApprove: AutoApproveCondition[] | null;
  reminders: ReminderSettings;
  /** Break-glass: the role's own `emergency` (never `default`'s); null when off. */
  emergency: { incidentPriorities: string[]; maxPerUserPerDay: number } | null;
}

export interface ReminderSettings {
  firstAfterMinutes: number;
  maxNudges: number;
  escalateAtShare: number;
  escalateTo: string | null;
  urgent: boolean;
}

export const DEFAULT_REMINDERS: ReminderSettings = { firstAfterMinutes: 15, maxNudges: 5, escalateAtShare: 0.75, escalateTo: null, urgent: false };

export const DEFAULT_POLICY: DecisionPolicy = policySchema.parse({ version: 1 });

/** The role's rule merged over `default`; a role key that is not listed gets `default` alone. */
export function effectiveRule(policy: DecisionPolicy, roleKey: string): EffectiveRule {
  const roles = lowerKeys(policy.roles);
  const base = roles.default ?? {};
  const own = roles[roleKey.toLowerCase()] ?? {};
  const merged: RoleRule = { ...base, ...own };
  const auto = merged.autoApprove;
  return {
    mode: merged.mode ?? 'enforce',
    justification: merged.justification ?? 'flag',
    ticket: merged.ticket
      ? {
          required: merged.ticket.required,
          verify: merged.ticket.verify,
          mustBeAssignedToRequester: merged.ticket.mustBeAssignedToRequester,
          systems: merged.ticket.systems,
        }
      : null,
    onCall: merged.onCall === true || typeof merged.onCall === 'object',
    onCallAnyProviderSuffices: typeof merged.onCall === 'object' && merged.onCall.anyProviderSuffices,
    hr: merged.hr ?? false,
    offHours: merged.offHours ?? 'flag',
    identityRisk: identityRiskOf(base.identityRisk, own.identityRisk),
    maintenanceWindows: merged.maintenanceWindows ? { windows: merged.maintenanceWindows.windows, outside: merged.maintenanceWindows.outside } : null,
    autoApprove: auto && auto !== 'never' ? auto.when : null,
    emergency: roleKey.toLowerCase() === 'default' || !own.emergency ? null : { ...own.emergency },
    reminders: {
      firstAfterMinutes: merged.reminders?.firstAfterMinutes ?? DEFAULT_REMINDERS.firstAfterMinutes,
      maxNudges: merged.reminders?.maxNudges ?? DEFAULT_REMINDERS.maxNudges,
      escalateAtShare: merged.reminders?.escalateAtShare ?? DEFAULT_REMINDERS.escalateAtShare,
      escalateTo: merged.reminders?.escalateTo ?? null,
      urgent: merged.reminders?.urgent ?? false,
    },
  };
}

/**
 * Parses a policy document; throws an Error listing every problem with its path, all at once: the
 * schema's, then the role keys and each role's `autoApprove.when` checked against the role's rule as
 * merged over `default` (a check configured on `default` counts for every role).
 */
export function parsePolicy(doc: unknown, source: string): DecisionPolicy {
  const result = policySchema.safeParse(doc);
  const problems: string[] = [];
  if (!result.success) problems.push(...result.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`));
  const policy = result.success ? result.data : null;
  // The semantic checks run on whatever parsed (each role on its own when the document did not), so one
  // pass reports schema and semantic problems together.
  const roles = policy?.roles ?? rolesOf(doc);
  const lenient = policy ?? lenientPolicy(roles);
  for (const [key, rule] of Object.entries(roles)) {
    if (key !== 'default' && !/^([0-9a-f-]{36}|group:[0-9a-f-]{36}|azure:[0-9a-f-]{36})$/i.test(key)) {
      problems.push(`roles.${key}: keys are a role definition id, group:<group id>, azure:<role definition guid> or default`);
      continue;
    }
    problems.push(...emergencyProblems(key, rule as RoleRule | undefined, lenient, doc));
    const auto = (rule as RoleRule | undefined)?.autoApprove;
    if (!auto || auto === 'never' || !Array.isArray(auto.when)) continue;
    const merged = effectiveRule(lenient, key);
    auto.when.forEach((c, i) => {
      const configured =
        c === 'ticket' ? merged.ticket : c === 'onCall' ? merged.onCall : c === 'hr' ? merged.hr : c === 'maintenanceWindow' ? merged.maintenanceWindows : null;
      if (!configured) problems.push(`roles.${key}.autoApprove.when.${i}: '${c}' is listed but neither the role nor default configures that check`);
    });
  }
  if (problems.length > 0 || !policy) {
    throw new Error(
      `The decision policy ${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return policy;
}

/**
 * Break-glass on a role: never on `default`, never on a human-only role (built in or listed), and only where the
 * role checks on-call and looks its ticket up (an emergency grant needs both to pass).
 */
function emergencyProblems(key: string, rule: RoleRule | undefined, lenient: DecisionPolicy, doc: unknown): string[] {
  if (!rule || typeof rule !== 'object' || !rule.emergency) return [];
  const at = `roles.${key}.emergency`;
  if (key === 'default') return [`${at}: break-glass is configured per role, never on default`];
  const listed = (doc as { humanOnlyRoleIds?: unknown })?.humanOnlyRoleIds;
  const humanOnly = [...Object.keys(BUILT_IN_HUMAN_ONLY_ROLES), ...(Array.isArray(listed) ? listed : [])].some(
    (id) => typeof id === 'string' && id.toLowerCase() === key.toLowerCase(),
  );
  if (humanOnly) return [`${at}: ${key} is a human-only role, which never gets an emergency grant; remove emergency or the role from humanOnlyRoleIds`];
  const merged = effectiveRule(lenient, key);
  const problems: string[] = [];
  if (!merged.onCall) problems.push(`${at}: needs onCall on the role or default (an emergency grant needs the requester on call)`);
  if (!merged.ticket?.verify) problems.push(`${at}: needs ticket with verify (an emergency grant needs an open incident looked up)`);
  return problems;
}

/** The roles that parse on their own (the others are reported by the schema), for the semantic checks. */
function lenientPolicy(roles: Record<string, unknown>): DecisionPolicy {
  const valid = Object.fromEntries(
    Object.entries(roles).flatMap(([k, v]) => {
      const r = roleRule.safeParse(v);
      return r.success ? [[k, r.data]] : [];
    }),
  );
  return { ...DEFAULT_POLICY, roles: valid };
}

function rolesOf(doc: unknown): Record<string, unknown> {
  const roles = typeof doc === 'object' && doc !== null ? (doc as { roles?: unknown }).roles : undefined;
  return typeof roles === 'object' && roles !== null && !Array.isArray(roles) ? (roles as Record<string, unknown>) : {};
}

/** A role's levels override `default`'s level by level, so naming one level never drops another's deny. */
function identityRiskOf(base: RoleRule['identityRisk'], own: RoleRule['identityRisk']): IdentityRiskRule | null {
  if (own === false) return null;
  if (own === undefined && (base === undefined || base === false)) return null;
  return { ...DEFAULT_IDENTITY_RISK_RULE, ...(base || {}), ...(own ?? {}) };
}

function lowerKeys<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]));
}
