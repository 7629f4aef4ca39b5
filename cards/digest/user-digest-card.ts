import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import template from './user-digest.json';
import { clip } from '../card-text';
import { formatTime } from '../../services/text/format-time';
import { digestEntryKey, type UserDigest } from '../../services/digests/user-digest';
import { DigestVerb, type DigestActionData } from './digest-verbs';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const templateParsed = new Template(template);

export interface UserDigestCardData {
  digest: UserDigest;
  /** Role and group names by target key (`kind|role|scope`, lower case); an unknown target shows its id. */
  targetNames: ReadonlyMap<string, string>;
  /**
   * What the user's click on an entry did and what happens next, by `digestEntryKey`: the card answering the
   * click shows it under the entry, in place of its buttons.
   */
  answers?: ReadonlyMap<string, string>;
}

export { digestEntryKey };

const MAX = { title: 200, ending: 10, today: 10, expired: 10 } as const;

interface EndingView extends DigestActionData {
  title: string;
  detail: string;
  /**
   * Ends within three days: the line gets a warning sign and bold text. Not coloured text: Teams' warning yellow
   * is 1.5:1 on white and its attention red 3.2:1 on the dark theme's card.
   */
  soon: boolean;
  detailWeight: 'Bolder' | 'Default';
  extendTitle: string;
  hasAnswer: boolean;
  answer: string;
}

interface ExpiredView {
  kind: string;
  roleDefinitionId: string;
  scope: string;
  title: string;
  detail: string;
  renewTitle: string;
  hasAnswer: boolean;
  answer: string;
}

interface UserDigestViewModel {
  verbs: { extend: string; release: string; renew: string };
  /** The digest's date, in each button's data: a click's answer re-renders this digest. */
  date: string;
  headline: string;
  subline: string;
  hasEnding: boolean;
  ending: EndingView[];
  hasMoreEnding: boolean;
  moreEnding: string;
  hasToday: boolean;
  today: Array<{ title: string; detail: string }>;
  hasExpired: boolean;
  expired: ExpiredView[];
  hasMoreExpired: boolean;
  moreExpired: string;
}

function titleOf(names: ReadonlyMap<string, string>, t: { kind: string; roleDefinitionId: string; scope: string }): string {
  const key = `${t.kind}|${t.roleDefinitionId.toLowerCase()}|${t.scope.toLowerCase()}`;
  const fallback = t.kind === 'group' ? `Group ${t.scope} (${t.roleDefinitionId})` : `Role ${t.roleDefinitionId}`;
  return clip(names.get(key) ?? fallback, MAX.title);
}

function answerOf(answers: ReadonlyMap<string, string> | undefined, e: Parameters<typeof digestEntryKey>[0]): { hasAnswer: boolean; answer: string } {
  const answer = clip(answers?.get(digestEntryKey(e)), 400);
  return { hasAnswer: answer.length > 0, answer: answer ? `→ ${answer}` : '' };
}

function inDays(days: number): string {
  if (days <= 0) return 'today';
  if (days === 1) return 'tomorrow';
  return `in ${days} days`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function toViewModel(d: UserDigestCardData): UserDigestViewModel {
  const { digest } = d;
  const shown = digest.ending.slice(0, MAX.ending);
  const ending: EndingView[] = shown.map((e) => ({
    kind: e.kind,
    roleDefinitionId: e.roleDefinitionId,
    scope: e.scope,
    assignment: e.assignment,
    title: titleOf(d.targetNames, e),
    detail: `${e.assignment === 'eligible' ? 'Eligible' : 'Active'} assignment ends ${formatTime(e.endDateTime, digest.timeZone)} (${inDays(e.daysLeft)})`,
    soon: e.daysLeft <= 3,
    detailWeight: e.daysLeft <= 3 ? 'Bolder' : 'Default',
    // Groups have no self-extend in PIM: the button asks the group's administrators instead.
    extendTitle: e.extend === 'selfExtend' ? 'Extend' : 'Ask admins to extend',
    ...answerOf(d.answers, e),
  }));
  const today = digest.endingToday.slice(0, MAX.today).map((a) => ({
    title: titleOf(d.targetNames, a),
    detail: ` — active until ${formatTime(a.endDateTime, digest.timeZone)}`,
  }));
  const allExpired = digest.expired ?? [];
  const expired: ExpiredView[] = allExpired.slice(0, MAX.expired).map((x) => ({
    kind: x.kind,
    roleDefinitionId: x.roleDefinitionId,
    scope: x.scope,
    title: titleOf(d.targetNames, x),
    detail: `Eligible assignment expired ${formatTime(x.endedAt, digest.timeZone)}`,
    // Groups have no self-renew in PIM: the button asks the group's administrators instead.
    renewTitle: x.renew === 'selfRenew' ? 'Renew' : 'Ask admins to renew',
    ...answerOf(d.answers, { ...x, assignment: 'expired' }),
  }));
  const parts = [
    digest.ending.length > 0 ? `${plural(digest.ending.length, 'assignment ends', 'assignments end')} within 14 days` : '',
    digest.endingToday.length > 0 ? `${plural(digest.endingToday.length, 'activation ends', 'activations end')} today` : '',
    allExpired.length > 0 ? `${plural(allExpired.length, 'assignment', 'assignments')} expired in the last 30 days` : '',
  ].filter(Boolean);
  const hidden = digest.ending.length - shown.length;
  return {
    verbs: { extend: DigestVerb.Extend, release: DigestVerb.Release, renew: DigestVerb.Renew },
    date: digest.date,
    headline: `Your PIM access: ${parts.join(', ')}`,
    subline: `Daily digest for ${formatTime(digest.generatedAt, digest.timeZone).replace(/,.*$/, '')}. Times are in your time zone.`,
    hasEnding: ending.length > 0,
    ending,
    hasMoreEnding: hidden > 0,
    moreEnding: `… and ${hidden} more ending later: see My roles in PIM.`,
    hasToday: today.length > 0,
    today,
    hasExpired: expired.length > 0,
    expired,
    hasMoreExpired: allExpired.length > expired.length,
    moreExpired: `… and ${allExpired.length - expired.length} more: see Expired assignments in PIM.`,
  };
}

/**
 * A user's daily digest in their personal chat. Each assignment that ends soon has Extend (verb
 * digest.extend) and No longer needed (digest.release), whose data names the assignment only
 * ({kind, roleDefinitionId, scope, assignment}); each eligibility that expired in the last 30 days has Renew
 * (digest.renew, data {kind, roleDefinitionId, scope}). Role and group names are TextRun text.
 */
export function renderUserDigestCard(d: UserDigestCardData): AdaptiveCardJson {
  return templateParsed.expand({ $root: toViewModel(d) }) as AdaptiveCardJson;
}
