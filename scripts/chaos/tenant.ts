/**
 * The tenant and the plan of one chaos run: the seeded demo tenant with extra roles (PIM keeps one
 * pending request per user and role, and an approved role stays active, so every (requester, role) pair is
 * used once), Adele and Megan as every role's approvers, and what each request will see: who files it,
 * when, whether and how the approvers click.
 */
import { ROLE, seedTenant, USER, type SeedTenant } from '../../sim/seed';
import type { ChaosProfile } from './profiles';
import type { Prng } from './prng';

export const APPROVERS = [USER.adele, USER.megan] as const;
/** Requesters with an enabled account and no HR signal (Joni leaves within the hour, Grady has left). */
export const REQUESTERS = [USER.isaiah, USER.lynne, USER.patti, USER.diego, USER.alex] as const;
export const JUSTIFICATION = 'Reset MFA for the locked-out CFO under incident INC0012345';

/** The Bot Connector's name for a user's personal chat with the bot (as the harness uses). */
export function personalConversation(teamsUserId: string): string {
  return `a:${teamsUserId}-personal`;
}

/** Fixed width, so no role's name is a prefix of another's: a notice naming it names one request. */
export function roleName(i: number): string {
  return `Chaos Role ${String(i).padStart(3, '0')}`;
}

export function chaosSeed(roles: number, requesters: readonly string[]): SeedTenant {
  const seed: SeedTenant = structuredClone(seedTenant);
  const template = seed.roles.find((r) => r.id === ROLE.userAdministrator)!;
  for (let i = 0; i < roles; i++) {
    const id = `c4a05000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    seed.roles.push({
      ...structuredClone(template),
      id,
      templateId: id,
      displayName: roleName(i),
      description: 'A role of the chaos run.',
      policy: {
        ...structuredClone(template.policy),
        primaryApprovers: APPROVERS.map((userId) => ({ kind: 'singleUser' as const, userId })),
        escalationApprovers: [],
      },
      eligible: [...requesters],
      eligibilityEnds: [],
    });
  }
  return seed;
}

export interface Click {
  approverId: string;
  verb: 'pim.approve' | 'pim.deny';
}

export interface PlannedRequest {
  index: number;
  requesterId: string;
  roleName: string;
  /** Ms after the load starts; spare requests (filed by faults that need a post) have none. */
  at: number | null;
  /** The approvers' first click: one click, or two at once on both replicas; empty: nobody clicks. */
  clicks: Click[];
  /** ms after the card shows. */
  clickDelayMs: number;
}

export interface ChaosPlan {
  seed: SeedTenant;
  requesters: string[];
  requests: PlannedRequest[];
  spares: PlannedRequest[];
}

export function makePlan(profile: ChaosProfile, spareCount: number, prng: Prng): ChaosPlan {
  const requesters = REQUESTERS.slice(0, Math.min(profile.requesters, REQUESTERS.length));
  const total = profile.requests + spareCount;
  const roles = Math.ceil(total / requesters.length);
  const pairs = prng.shuffle(
    Array.from({ length: roles * requesters.length }, (_, k) => ({ requesterId: requesters[k % requesters.length]!, role: Math.floor(k / requesters.length) })),
  );
  const gap = (profile.loadSeconds * 1000) / Math.max(1, profile.requests);
  const plan = (index: number, at: number | null): PlannedRequest => {
    const pair = pairs[index]!;
    const clicked = prng.chance(profile.clickShare);
    const verb = (): Click['verb'] => (prng.chance(profile.denyShare) ? 'pim.deny' : 'pim.approve');
    const first = prng.pick(APPROVERS);
    let clicks: Click[] = [];
    if (clicked) {
      const v = verb();
      clicks = [{ approverId: first, verb: v }];
      if (prng.chance(profile.doubleClickShare)) {
        // Two at once: the same approver's double click (same verb), or the other approver's own choice.
        clicks.push(prng.chance(profile.twoApproverShare) ? { approverId: APPROVERS.find((a) => a !== first)!, verb: verb() } : { approverId: first, verb: v });
      }
    }
    return {
      index,
      requesterId: pair.requesterId,
      roleName: roleName(pair.role),
      at,
      clicks,
      clickDelayMs: Math.round(prng.between(profile.clickDelayMs[0], profile.clickDelayMs[1])),
    };
  };
  const requests = Array.from({ length: profile.requests }, (_, i) => plan(i, Math.round(i * gap + prng.between(0, gap * 0.8))));
  // Spares are always clicked: a fault filed them to catch a post, and their cards go through the same checks.
  const spares = Array.from({ length: spareCount }, (_, j) => {
    const p = plan(profile.requests + j, null);
    return p.clicks.length ? p : { ...p, clicks: [{ approverId: APPROVERS[0], verb: 'pim.approve' as const }] };
  });
  return { seed: chaosSeed(roles, requesters), requesters: [...requesters], requests, spares };
}
