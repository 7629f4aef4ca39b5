/**
 * The tenant the load runs against: a generated one (sim/scale-seed.ts) with enough users × roles that
 * no activation meets another pending or active one (PIM allows one pending request per user and role,
 * and an approved role is active afterwards), an approver channel per role (Teams paces each channel, so
 * a tenant spreads its cards over its roles' channels), and a decision policy with all three answers.
 */
import { DEMO_TENANT_ID } from '../../sim/seed';
import { scaleSeed, type ActivitySeedTenant } from '../../sim/scale-seed';

/** Built-in role ids the policy auto-approves with a well-formed ticket (read-only roles). */
export const AUTO_APPROVE_ROLES = ['4a5d8f65-41da-4de4-8968-e035b65339cf' /* Reports Reader */, 'f2ef992c-3afb-46b9-b7cf-a126ee74c451' /* Global Reader */];

export const GOOD_JUSTIFICATIONS = [
  'Rotate the expiring SAML signing certificate of the payroll app under change CHG0042001',
  'Unlock the CFO mailbox after the phishing lockout reported in INC0012345',
  'Review sign-in logs for the impossible-travel alert raised by Defender this morning',
  'Reset MFA registration for a field engineer who replaced a lost phone, ticket INC0012346',
  'Update the conditional access exclusion list for the quarterly break-glass test',
];
/** PIM accepts it (the rule only wants one), the decision service denies it as a placeholder. */
export const PLACEHOLDER_JUSTIFICATION = 'test';

export interface LoadTenant {
  seed: ActivitySeedTenant;
  /** The two approvers of every role (users 0 and 1 of the generated tenant). */
  approvers: Array<{ id: string; teamsUserId: string; displayName: string }>;
  /** Every (requester, role) pair that may activate, shuffled; approvers never request. */
  pairs: Array<{ principalId: string; roleId: string }>;
  /** conversation id → the role ids whose cards go there. */
  channels: Record<string, string[]>;
}

/** Deterministic shuffle (the same tenant and order every run). */
function shuffle<T>(xs: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** `channelCount` 0: one channel per role; otherwise the roles share that many channels, round robin. */
export function loadTenant(users: number, eligibilities: number, channelCount = 0): LoadTenant {
  // Roles only (no PIM groups), no activation running at the start, so every pair can activate.
  const seed = scaleSeed({ users, eligibilities, pimGroups: 0, activeNowShare: 0, tenantId: DEMO_TENANT_ID, seed: 7 });
  const approvers = seed.users.slice(0, 2).map((u) => ({ id: u.id, teamsUserId: u.teamsUserId, displayName: u.displayName }));
  const approverIds = new Set(approvers.map((a) => a.id));
  const pairs: LoadTenant['pairs'] = [];
  for (const role of seed.roles) {
    // Eligibilities ending within the next two hours could lapse during a long run.
    const endsSoon = new Set((role.eligibilityEnds ?? []).filter((e) => e.daysFromNow < 2 / 24).map((e) => e.userId));
    for (const uid of role.eligible) if (!approverIds.has(uid) && !endsSoon.has(uid)) pairs.push({ principalId: uid, roleId: role.id });
  }
  const channels: Record<string, string[]> = {};
  const n = channelCount > 0 ? Math.min(channelCount, seed.roles.length) : seed.roles.length;
  seed.roles.forEach((r, i) => {
    const channel = `19:load-channel-${i % n}@thread.tacv2`;
    channels[channel] ??= [];
    channels[channel].push(r.id);
  });
  return { seed, approvers, pairs: shuffle(pairs, 20261124), channels };
}

/** POLICY_JSON for the replicas: justification placeholders denied, read-only roles auto-approved with a ticket. */
export function loadPolicyJson(): string {
  const autoApprove = { ticket: { required: true, verify: false }, autoApprove: { when: ['ticket'] } };
  return JSON.stringify({
    version: 1,
    roles: { default: { justification: 'deny' }, ...Object.fromEntries(AUTO_APPROVE_ROLES.map((id) => [id, autoApprove])) },
  });
}
