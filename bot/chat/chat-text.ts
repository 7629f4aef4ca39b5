import { formatTime } from '../../cards/chat';
import type { ActivationRefusal } from '../../services/elevation/activation-problems';
import type { OwnRequest } from '../../services/elevation/self-service';
import type { ActiveAssignment, EligibleTarget } from '../../services/elevation/types';
import type { ChatRequestRow } from '../../services/store/chat-store';

export function helpText(): string {
  return [
    'I request PIM roles for you and follow them until they end. Type:',
    '• activate <role> [for <duration>] [ticket <system> <number>] [because <reason>]',
    '   for example: activate security operator for 2h ticket ServiceNow INC0012345 because investigating alert',
    '• activate (or form): pick a role on a form',
    '• roles: what you can activate, and what is active now',
    '• status: your requests, and what is waiting for your approval',
    '• cancel [<role or request id>]: withdraw a pending request',
    '• extend <role>: ask to extend an eligibility that ends within 14 days',
    'Role names can be shortened or misspelt ("sec op", "helpdesk admin"); durations like 90m, 1.5h or "until 5pm" work.',
  ].join('\n');
}

export function rolesText(eligible: EligibleTarget[], active: ActiveAssignment[], now: Date, timeZone: string): string {
  if (eligible.length === 0 && active.length === 0) {
    return 'You are not eligible for any role or group in PIM. Ask your PIM administrator to make you eligible.';
  }
  const lines: string[] = [];
  const live = active.filter((a) => !a.endDateTime || Date.parse(a.endDateTime) > now.getTime());
  if (live.length) {
    lines.push('Active now:');
    for (const a of live) lines.push(`• ${a.displayName}: ${a.endDateTime ? `until ${formatTime(a.endDateTime, timeZone)}` : 'permanent assignment'}`);
  }
  if (eligible.length) {
    lines.push('You can activate:');
    for (const e of eligible) lines.push(`• ${e.displayName}${e.eligibleUntil ? ` (eligible until ${formatTime(e.eligibleUntil, timeZone)})` : ''}`);
  }
  lines.push('Type "activate <role>" to request one.');
  return lines.join('\n');
}

const STATE_WORDS: Record<string, string> = {
  submitting: 'being submitted',
  pending: 'waiting for approval',
  approved: 'approved, activating',
  active: 'active',
  ended: 'ended',
  denied: 'denied',
  expired: 'expired without a decision',
  cancelled: 'cancelled',
  failed: 'failed',
};

export function statusText(o: {
  mine: ChatRequestRow[];
  pimOpen: OwnRequest[];
  waiting: Array<{ requester: string; role: string; createdAt: string }>;
  timeZone: string;
  now: Date;
}): string {
  const lines: string[] = [];
  const untracked = o.pimOpen.filter((p) => !o.mine.some((m) => m.pim_request_id.toLowerCase() === p.pimRequestId.toLowerCase()));
  if (o.mine.length === 0 && untracked.length === 0) lines.push('You have no requests from the last while.');
  else {
    lines.push('Your requests:');
    for (const r of o.mine) {
      let detail = STATE_WORDS[r.state] ?? r.state;
      if (r.state === 'active' && r.active_until) detail = `active until ${formatTime(r.active_until, o.timeZone)}`;
      if ((r.state === 'denied' || r.state === 'active') && r.decided_by_name) detail += ` (by ${r.decided_by_name})`;
      lines.push(`• ${r.role_title}: ${detail}, requested ${formatTime(r.created_at, o.timeZone)} [${r.id.slice(0, 8)}]`);
    }
    for (const p of untracked)
      lines.push(
        `• ${/extend/i.test(p.action) ? `Extension of ${p.displayName}` : p.displayName}: ${p.status} in PIM${p.createdDateTime ? `, requested ${formatTime(p.createdDateTime, o.timeZone)}` : ''}`,
      );
  }
  if (o.waiting.length) {
    lines.push(`Waiting for your approval (${o.waiting.length}):`);
    for (const w of o.waiting) {
      const minutes = Math.max(0, Math.round((o.now.getTime() - Date.parse(w.createdAt)) / 60_000));
      lines.push(
        `• ${w.requester} asks for ${w.role}, waiting ${minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`}: decide on the card in your approvers channel.`,
      );
    }
  } else {
    lines.push('Nothing is waiting for your approval.');
  }
  return lines.join('\n');
}

export function eligibleList(eligible: EligibleTarget[]): string {
  return eligible.length ? `You can activate: ${eligible.map((t) => t.displayName).join(', ')}.` : 'You are not eligible for any role or group in PIM yet.';
}

/** One sentence per refusal that says what happened and what to do; PIM's own message and request id for the rest. */
export function refusalText(refusal: ActivationRefusal, what: string): string {
  switch (refusal.kind) {
    case 'alreadyActive':
      return `${what}: the role is already active for you. Type "roles" to see until when.`;
    case 'alreadyPending':
      return `${what}: you already have a request for it waiting in PIM. Type "status" to follow it or "cancel" to withdraw it.`;
    case 'notEligible':
      return `${what}: PIM says you are not eligible for it. Ask your PIM administrator to make you eligible.`;
    case 'mfa':
      return `${what}: PIM needs multi-factor authentication. Sign in again and complete MFA.`;
    case 'authContext':
      return `${what}: PIM needs a stronger sign-in (Conditional Access authentication context). Sign in again.`;
    case 'policy':
      return `${what}: PIM's policy refused it (${refusal.rules.join(', ')}).`;
    case 'other':
      return `${what}. PIM said: ${refusal.message}${refusal.requestId ? ` (request id ${refusal.requestId})` : ''}. Nothing was changed; try again, and if it keeps failing send this message to your PIM administrator.`;
  }
}
