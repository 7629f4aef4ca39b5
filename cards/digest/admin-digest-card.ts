import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import template from './admin-digest.json';
import { clip } from '../card-text';
import { formatDuration, formatTime } from '../../services/text/format-time';
import type { AdminDigest } from '../../services/digests/admin-digest';
import { AUDIT_NOTE_MAX_LENGTH, AuditVerb, auditNoteInputId } from './digest-verbs';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const templateParsed = new Template(template);

export interface AdminDigestCardData {
  digest: AdminDigest;
  /** Display names: users by object id, roles and groups by target key (`kind|role|scope`, lower case). */
  names: { users: ReadonlyMap<string, string>; targets: ReadonlyMap<string, string> };
  /** What a review click on a spot-audit entry did, by request id: shown under the entry in place of its buttons. */
  answers?: ReadonlyMap<string, string>;
}

/** Lines per section and audit entries per card: the whole card stays well under Teams' 28 KB. */
const MAX = { lines: 10, auditPerCard: 8, name: 120, title: 200, text: 300 } as const;

interface Line {
  lead: string;
  rest: string;
}

interface Section {
  title: string;
  /** Before the title: '⛔ ' needs attention, '⚠ ' worth a look, '' nothing to do (see `toneIcon`). */
  icon: string;
  hasNote: boolean;
  note: string;
  lines: Line[];
}

interface AuditEntryView {
  requestId: string;
  noteInputId: string;
  lead: string;
  rest: string;
  details: string[];
  hasAnswer: boolean;
  answer: string;
  /** The digest's job date, in the buttons' data: the answer re-renders this digest. */
  digestDate: string;
}

interface AdminDigestViewModel {
  verbs: { looksRight: string; flag: string };
  noteMaxLength: number;
  headline: string;
  subline: string;
  sections: Section[];
  audit: { title: string; note: string; entries: AuditEntryView[] };
}

type Target = { kind: string; roleDefinitionId: string; scope: string };

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function quoted(text: string): string {
  return `“${text}”`;
}

class Namer {
  constructor(private readonly d: AdminDigestCardData) {}

  user(id: string | null | undefined, fallback?: string | null): string {
    if (!id) return clip(fallback, MAX.name) || 'someone';
    return clip(this.d.names.users.get(id.toLowerCase()) ?? fallback ?? id, MAX.name);
  }

  target(t: Target): string {
    const key = `${t.kind}|${t.roleDefinitionId.toLowerCase()}|${t.scope.toLowerCase()}`;
    const fallback =
      t.kind === 'group'
        ? `Group ${t.scope} (${t.roleDefinitionId})`
        : t.kind === 'azureResource'
          ? `${t.roleDefinitionId.split('/').pop()} at ${t.scope}`
          : `Role ${t.roleDefinitionId}`;
    return clip(this.d.names.targets.get(key) ?? fallback, MAX.title);
  }
}

/**
 * A section's tone as an icon before its bold title. Not coloured text: Teams' warning yellow is 1.5:1 on white
 * and its attention red 3.2:1 on the dark theme's card.
 */
function toneIcon(tone: 'attention' | 'warning' | 'default'): string {
  return tone === 'attention' ? '⛔ ' : tone === 'warning' ? '⚠ ' : '';
}

function day(iso: string, zone: string): string {
  return formatTime(iso, zone).replace(/,.*$/, '');
}

function capped(lines: Line[], total: number, what: string): Line[] {
  if (lines.length === 0) return [{ lead: '', rest: 'None' }];
  return total > lines.length ? [...lines, { lead: '', rest: `… and ${total - lines.length} more ${what}` }] : lines;
}

function sections(d: AdminDigestCardData, n: Namer): Section[] {
  const g = d.digest;
  const zone = g.timeZone;
  const now = Date.parse(g.generatedAt);
  const expiring: Section = {
    title: `Eligible assignments expiring by ${day(new Date(Date.parse(g.expiringThisWeek.until) - 1).toISOString(), zone)}: ${g.expiringThisWeek.total}`,
    icon: toneIcon(g.expiringThisWeek.total > 0 ? 'warning' : 'default'),
    hasNote: g.expiringThisWeek.total > 0,
    note: 'Users can ask to extend from their own digest; unextended assignments end on the date shown.',
    lines: capped(
      g.expiringThisWeek.targets.slice(0, MAX.lines).map((t) => ({
        lead: `${n.target(t.target)}: ${t.count}`,
        rest: ` — soonest: ${t.soonest.map((s) => `${n.user(s.principalId)} (${day(s.endDateTime, zone)})`).join(', ')}`,
      })),
      g.expiringThisWeek.targets.length,
      'roles',
    ),
  };
  const dormantLines: Line[] = g.dormant.targets.slice(0, MAX.lines).map((t) => ({ lead: n.target(t.target), rest: `: ${t.count}` }));
  const oldest: Line[] = g.dormant.oldest.slice(0, MAX.lines).map((o) => ({
    lead: n.user(o.principalId),
    rest: ` — ${n.target(o)}, ${o.lastActivatedAt ? `last activated ${day(o.lastActivatedAt, zone)}` : 'no activation on record'}`,
  }));
  const dormant: Section = {
    title: `Dormant eligible assignments (no activation in ${g.dormant.days} days): ${g.dormant.total}`,
    icon: toneIcon(g.dormant.total > 0 ? 'warning' : 'default'),
    hasNote: g.dormant.total > 0,
    note: 'Eligibility nobody uses is standing attack surface: consider removing it. By role, then the longest unused:',
    lines: g.dormant.total === 0 ? [{ lead: '', rest: 'None' }] : [...capped(dormantLines, g.dormant.targets.length, 'roles'), ...oldest],
  };
  const permanent: Section = {
    title: `Permanent active assignments on privileged roles: ${g.permanentPrivileged.total}`,
    icon: toneIcon(g.permanentPrivileged.total > 0 ? 'attention' : 'default'),
    hasNote: g.permanentPrivileged.total > 0,
    note: 'These roles should be eligible and activated just in time, not assigned for good.',
    lines: capped(
      g.permanentPrivileged.items
        .slice(0, MAX.lines)
        .map((p) => ({ lead: n.user(p.principalId), rest: ` — ${n.target(p)}${p.startDateTime ? `, since ${day(p.startDateTime, zone)}` : ''}` })),
      g.permanentPrivileged.total,
      'assignments',
    ),
  };
  const pending: Section = {
    title: `Pending requests: ${g.pending.total}`,
    icon: toneIcon(g.pending.items.some((p) => p.ageMinutes >= 12 * 60) ? 'attention' : g.pending.total > 0 ? 'warning' : 'default'),
    hasNote: g.pending.total > 0,
    note: 'Oldest first. PIM drops a request 24 hours after it was made.',
    lines: capped(
      g.pending.items.slice(0, MAX.lines).map((p) => ({
        lead: n.user(p.principalId),
        rest: ` — ${n.target(p)}, waiting ${formatDuration(Math.max(0, Math.floor((now - Date.parse(p.createdAt)) / 60_000)))}`,
      })),
      g.pending.total,
      'requests',
    ),
  };
  const flags: Section = {
    title: `Flagged approvals since the last digest: ${g.flags.length}`,
    icon: toneIcon(g.flags.length > 0 ? 'attention' : 'default'),
    hasNote: false,
    note: '',
    lines: capped(
      g.flags.slice(0, MAX.lines).map((f) => ({
        lead: `${n.target(f)} for ${n.user(f.principalId)}`,
        rest: ` — approved by ${n.user(f.approvedById, f.approvedByName)}${f.approvedAt ? ` on ${day(f.approvedAt, zone)}` : ''}; flagged by ${n.user(f.reviewerId, f.reviewerName)}: ${quoted(clip(f.note, MAX.text) || 'no note')}`,
      })),
      g.flags.length,
      'flags',
    ),
  };
  return [flags, pending, expiring, dormant, permanent];
}

function auditEntries(d: AdminDigestCardData, n: Namer): AuditEntryView[] {
  const zone = d.digest.timeZone;
  const digestDate = d.digest.date;
  return d.digest.spotAudit.sample.map((s) => {
    const details = [`Justification: ${quoted(clip(s.justification, MAX.text) || 'none')}`];
    if (s.decisionJustification) details.push(`Approver's note: ${quoted(clip(s.decisionJustification, MAX.text))}`);
    if (s.ticket) details.push(`Ticket: ${clip(`${s.ticket.system ?? ''} ${s.ticket.number}`.trim(), 100)}`);
    if (s.reviews.length > 0) {
      details.push(
        `Reviewed so far: ${s.reviews.map((r) => `${n.user(r.reviewerId, r.reviewerName)} (${r.verdict === 'flag' ? 'flagged' : 'looks right'})`).join(', ')}`,
      );
    }
    return {
      requestId: s.requestId,
      noteInputId: auditNoteInputId(s.requestId),
      lead: `${n.target(s)} for ${n.user(s.principalId)}`,
      rest: ` — approved by ${n.user(s.approvedById, s.approvedByName)}${s.approvedAt ? ` at ${formatTime(s.approvedAt, zone)}` : ''}`,
      details,
      ...answerOf(d.answers, s.requestId),
      digestDate,
    };
  });
}

function answerOf(answers: ReadonlyMap<string, string> | undefined, requestId: string): { hasAnswer: boolean; answer: string } {
  const answer = clip(answers?.get(requestId), MAX.text);
  return { hasAnswer: answer.length > 0, answer: answer ? `→ ${answer}` : '' };
}

/**
 * The admin channel's daily digest: one card with the sections and the first spot-audit entries, then
 * as many continuation cards as the rest of the sample needs (each entry has 'Looks right'
 * (audit.looksRight) and 'Flag' (audit.flag, with a note), data {requestId}). Names and notes are
 * TextRun text.
 */
export function renderAdminDigestCards(d: AdminDigestCardData): AdaptiveCardJson[] {
  const n = new Namer(d);
  const g = d.digest;
  const entries = auditEntries(d, n);
  const chunks: AuditEntryView[][] = [];
  for (let i = 0; i < entries.length; i += MAX.auditPerCard) chunks.push(entries.slice(i, i + MAX.auditPerCard));
  if (chunks.length === 0) chunks.push([]);
  const yesterday = g.spotAudit.date;
  const auditTitle =
    g.spotAudit.approvals === 0
      ? `Spot audit: no approvals on ${yesterday}`
      : `Spot audit: ${g.spotAudit.sample.length} of ${plural(g.spotAudit.approvals, 'approval')} on ${yesterday}`;
  const auditNote =
    g.spotAudit.approvals === 0
      ? 'Nothing to review today.'
      : 'Anyone but the approver and the requester may review. Looks right, or Flag with a note: flags show in the next digest.';
  return chunks.map((chunk, i) => {
    const vm: AdminDigestViewModel = {
      verbs: { looksRight: AuditVerb.LooksRight, flag: AuditVerb.Flag },
      noteMaxLength: AUDIT_NOTE_MAX_LENGTH,
      headline: i === 0 ? `PIM daily digest for ${day(g.generatedAt, g.timeZone)}` : `Spot audit, continued (${i + 1} of ${chunks.length})`,
      subline:
        i === 0
          ? `Times in ${g.timeZone}.${chunks.length > 1 ? ` The spot audit continues in ${plural(chunks.length - 1, 'more message')}.` : ''}`
          : `Approvals on ${yesterday}.`,
      sections: i === 0 ? sections(d, n) : [],
      audit: { title: auditTitle, note: auditNote, entries: chunk },
    };
    return templateParsed.expand({ $root: vm }) as AdaptiveCardJson;
  });
}

/** The first (main) card of the admin digest. */
export function renderAdminDigestCard(d: AdminDigestCardData): AdaptiveCardJson {
  return renderAdminDigestCards(d)[0]!;
}
