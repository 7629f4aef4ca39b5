import { formatTime } from '../../cards/chat';
import type { ActivationRefusal } from '../../services/elevation/activation-problems';
import type { OwnRequest } from '../../services/elevation/self-service';
import type { ActiveAssignment, EligibleTarget } from '../../services/elevation/types';
import { pimStatusWords, policyRuleWords, scopeWords } from '../../services/chat/plain-words';
import type { ChatRequestRow } from '../../services/store/chat-store';

/**
 * Text for Teams markdown (`textFormat: 'markdown'`): names from the directory are escaped so a role or
 * group name can never add a link, emphasis or a mention. Teams joins lines separated by a single newline,
 * so paragraphs are separated by a blank line and a list has a blank line before it and one `- ` item a line.
 */
export function md(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]~])/g, '\\$1');
}

function list(items: string[]): string {
  return items.map((i) => `- ${i}`).join('\n');
}

/** Paragraphs and lists, each separated by a blank line. */
function blocks(parts: string[]): string {
  return parts.filter((p) => p.length > 0).join('\n\n');
}

function withScope(t: { kind: string; scope: string; displayName: string }): string {
  const where = scopeWords(t.kind, t.scope);
  return where ? `${md(t.displayName)} (in ${where})` : md(t.displayName);
}

export function rolesText(eligible: EligibleTarget[], active: ActiveAssignment[], now: Date, timeZone: string): string {
  if (eligible.length === 0 && active.length === 0) {
    return 'You are not eligible for any role or group in PIM. Ask your PIM administrator to make you eligible.';
  }
  const parts: string[] = [];
  const live = active.filter((a) => !a.endDateTime || Date.parse(a.endDateTime) > now.getTime());
  if (live.length) {
    parts.push('**Active now**');
    parts.push(list(live.map((a) => `${withScope(a)}: ${a.endDateTime ? `until ${formatTime(a.endDateTime, timeZone)}` : 'permanent assignment'}`)));
  }
  if (eligible.length) {
    parts.push('**You can activate**');
    parts.push(list(eligible.map((e) => `${withScope(e)}${e.eligibleUntil ? ` (eligible until ${formatTime(e.eligibleUntil, timeZone)})` : ''}`)));
  }
  parts.push(`To request one, type **activate** and its name, for example "activate ${md(eligible[0]?.displayName ?? 'Security Operator')}".`);
  return blocks(parts);
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

/** How many of the user's chat requests `status` lists (the store's `requestsOf` limit). */
export const STATUS_RECENT_LIMIT = 10;

/** "under a minute", "12 min", "2 h 5 min": how long something has waited, never "0 min". */
export function waitedText(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return 'under a minute';
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function statusText(o: {
  mine: ChatRequestRow[];
  pimOpen: OwnRequest[];
  waiting: Array<{ requester: string; role: string; createdAt: string }>;
  timeZone: string;
  now: Date;
}): string {
  const parts: string[] = [];
  const untracked = o.pimOpen.filter((p) => !o.mine.some((m) => m.pim_request_id.toLowerCase() === p.pimRequestId.toLowerCase()));
  if (o.mine.length === 0 && untracked.length === 0) {
    // Says what was looked at: requests made in this chat, and the ones PIM still has open.
    parts.push('You have made no requests in this chat, and PIM has none of yours open. Requests made in the PIM portal show here while they are open.');
  } else {
    parts.push(
      o.mine.length >= STATUS_RECENT_LIMIT
        ? `**Your requests** (the last ${STATUS_RECENT_LIMIT} made in this chat, and any still open in PIM)`
        : '**Your requests** (made in this chat, and any still open in PIM)',
    );
    const items: string[] = [];
    for (const r of o.mine) {
      let detail = STATE_WORDS[r.state] ?? pimStatusWords(r.state);
      if (r.state === 'active' && r.active_until) detail = `active until ${formatTime(r.active_until, o.timeZone)}`;
      if ((r.state === 'denied' || r.state === 'active') && r.decided_by_name) detail += ` (by ${md(r.decided_by_name)})`;
      const where = scopeWords(r.kind, r.scope);
      items.push(`${md(r.role_title)}${where ? ` (in ${where})` : ''}: ${detail}, requested ${formatTime(r.created_at, o.timeZone)} (id ${r.id.slice(0, 8)})`);
    }
    for (const p of untracked)
      items.push(
        `${/extend/i.test(p.action) ? `Extension of ${withScope(p)}` : /renew/i.test(p.action) ? `Renewal of ${withScope(p)}` : withScope(p)}: ${pimStatusWords(p.status)}${p.createdDateTime ? `, requested ${formatTime(p.createdDateTime, o.timeZone)}` : ''}`,
      );
    parts.push(list(items));
  }
  if (o.waiting.length) {
    parts.push(`**Waiting for your approval** (${o.waiting.length})`);
    parts.push(
      list(
        o.waiting.map(
          (w) =>
            `${md(w.requester)} asks for ${md(w.role)}, waiting ${waitedText(o.now.getTime() - Date.parse(w.createdAt))}: decide on the card in your approvers channel.`,
        ),
      ),
    );
  } else {
    parts.push('Nothing is waiting for your approval.');
  }
  return blocks(parts);
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
      return `${what}: PIM needs a stronger sign-in than the one you used. Sign in again.`;
    case 'policy':
      return `${what}: PIM's policy refused it (${policyRuleWords(refusal.rules)}).`;
    case 'other':
      return `${what}. PIM said: ${refusal.message}${refusal.requestId ? ` (request id ${refusal.requestId})` : ''}. Nothing was changed; try again, and if it keeps failing send this message to your PIM administrator.`;
  }
}
