import { assertNever } from '../approvals/request-lifecycle';
import type { DigestKind } from './types';

/**
 * What the digest's buttons do, per kind of assignment. The server re-reads the user's own eligibility
 * (or active assignment) before acting; these rules only say which path PIM offers.
 *
 * - Extend, Entra role: PIM has `selfExtend` (Graph roleEligibilityScheduleRequests for an eligible
 *   assignment, roleAssignmentScheduleRequests for an active one) inside the 14-day window; an
 *   administrator then approves it in PIM.
 * - Extend, group: PIM for Groups has no selfExtend or selfRenew (only adminExtend/adminRenew), so the
 *   bot asks the group's PIM administrators, who extend it themselves.
 * - No longer needed: PIM has no self-service removal of an eligibility (removal is `adminRemove`), so
 *   the bot tells the administrators, who remove it; nothing changes until they do.
 */
export type DigestAction = 'extend' | 'release';
export type DigestRoute = 'selfExtend' | 'askAdmins' | 'tellAdmins';

export function digestRoute(action: DigestAction, kind: DigestKind): DigestRoute {
  switch (action) {
    case 'extend':
      return kind === 'entraRole' ? 'selfExtend' : 'askAdmins';
    case 'release':
      return 'tellAdmins';
    default:
      return assertNever(action);
  }
}

/** The Graph collection a self-extension is filed in, by which assignment ends. */
export function selfExtendCollection(assignment: 'eligible' | 'active'): 'roleEligibilityScheduleRequests' | 'roleAssignmentScheduleRequests' {
  return assignment === 'eligible' ? 'roleEligibilityScheduleRequests' : 'roleAssignmentScheduleRequests';
}
