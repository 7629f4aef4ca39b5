import { assertNever, found, isRecord } from './findings';
import { HttpJsonClient, type FetchFn, type RetryPolicy } from './http-json';
import type { Evidence, OnCallCheck, OnCallService, Requester } from './ports';

/** Two reads in sequence (user, then on-calls): each gets a little under half the default 3 s budget. */
const PAGERDUTY_READ_TIMEOUT_MS = 1200;
/** Pages of on-call entries read at most; one user rarely has more than a handful at one instant. */
const MAX_PAGES = 3;

export interface PagerDutySettings {
  /** `https://api.pagerduty.com` (or `https://api.eu.pagerduty.com`). */
  baseUrl: string;
  /** A REST API key (read-only is enough). */
  apiKey: string;
  /** Count only on-calls for these escalation policies; all when empty. */
  escalationPolicyIds?: string[];
  retry?: Partial<RetryPolicy>;
}

interface PdUser {
  id: string;
  email?: string;
}
interface PdOnCall {
  user?: { id?: string; summary?: string };
  schedule?: { summary?: string } | null;
  escalation_policy?: { summary?: string };
  escalation_level?: number;
  start?: string | null;
  end?: string | null;
}

/** PagerDuty REST v2: is the requester on call (any level) at the given instant. */
export class PagerDutyOnCall implements OnCallService {
  readonly name = 'PagerDuty';
  private readonly http: HttpJsonClient;

  constructor(
    private readonly settings: PagerDutySettings,
    deps: { fetch?: FetchFn } = {},
  ) {
    this.http = new HttpJsonClient({
      system: 'PagerDuty',
      baseUrl: settings.baseUrl,
      headers: { Authorization: `Token token=${settings.apiKey}`, Accept: 'application/vnd.pagerduty+json;version=2' },
      retry: settings.retry,
      fetch: deps.fetch,
    });
  }

  async isOnCall(requester: Requester, at: Date, signal: AbortSignal): Promise<OnCallCheck> {
    const user = await this.findUser(requester, signal);
    switch (user.status) {
      case 'unknown':
        return found.unknown(`PagerDuty could not say whether the requester is on call: ${user.detail}.`, ...user.evidence);
      case 'none':
        return found.fail(`No PagerDuty user has the email ${requester.mail ?? requester.userPrincipalName}.`, ...user.evidence);
      case 'found':
        break;
      default:
        return assertNever(user);
    }
    const evidence = [...user.evidence];
    // PagerDuty wants until after since; one minute around `at` finds every entry that covers it.
    const since = at.toISOString();
    const until = new Date(at.getTime() + 60_000).toISOString();
    for (let page = 0, offset = 0; ; page++) {
      if (page >= MAX_PAGES)
        return found.unknown(`PagerDuty has more than ${MAX_PAGES} pages of on-call entries for the requester; not all were read.`, ...evidence);
      const res = await this.http.ask<unknown>({
        path: '/oncalls',
        query: {
          'user_ids[]': [user.id],
          'escalation_policy_ids[]': this.settings.escalationPolicyIds?.length ? this.settings.escalationPolicyIds : undefined,
          since,
          until,
          limit: 100,
          offset,
        },
        timeoutMs: PAGERDUTY_READ_TIMEOUT_MS,
        signal,
        what: 'reading on-calls',
        asked: "the requester's on-call entries now",
      });
      if (!res.ok) return found.unknown(`PagerDuty could not say whether the requester is on call (${res.evidence.answer}).`, ...evidence, res.evidence);
      const body = isRecord(res.body) ? (res.body as { oncalls?: unknown; more?: unknown; limit?: unknown }) : null;
      if (!body || !Array.isArray(body.oncalls)) {
        return found.unknown("PagerDuty's answer had no list of on-call entries.", ...evidence, {
          ...res.evidence,
          answer: `${res.evidence.answer}, oncalls missing`,
        });
      }
      evidence.push(res.evidence);
      const entries = body.oncalls.filter(isRecord) as PdOnCall[];
      const covering = entries.filter((o) => o.user?.id === user.id && covers(o, at));
      if (covering.length > 0) {
        // The longest-running entry is the most useful "until".
        const best = covering.sort((a, b) => endMs(b) - endMs(a))[0]!;
        const what = best.schedule?.summary ?? best.escalation_policy?.summary ?? 'an escalation policy';
        return found.pass(`On call for "${what}"${best.end ? ` until ${utc(new Date(best.end))}` : ''} (PagerDuty)`, ...evidence);
      }
      // `more` says whether entries remain; an answer without it cannot say "not on call".
      if (typeof body.more !== 'boolean') return found.unknown("PagerDuty's answer did not say whether more on-call entries follow.", ...evidence);
      if (!body.more) break;
      offset += typeof body.limit === 'number' && body.limit > 0 ? body.limit : entries.length || 100;
    }
    return found.fail(`Not on call in PagerDuty at ${utc(at)}.`, ...evidence);
  }

  private async findUser(
    r: Requester,
    signal: AbortSignal,
  ): Promise<{ status: 'found'; id: string; evidence: Evidence[] } | { status: 'none' | 'unknown'; detail: string; evidence: Evidence[] }> {
    const emails = [...new Set([r.mail, r.userPrincipalName].filter((x): x is string => Boolean(x)).map((x) => x.toLowerCase()))];
    const evidence: Evidence[] = [];
    for (const email of emails) {
      // `query` matches names and emails by prefix and substring; keep only the exact email.
      const res = await this.http.ask<unknown>({
        path: '/users',
        query: { query: email, limit: 25 },
        timeoutMs: PAGERDUTY_READ_TIMEOUT_MS,
        signal,
        what: 'looking up the requester',
        asked: "the requester's PagerDuty user",
      });
      if (!res.ok)
        return { status: 'unknown', detail: `the requester's user could not be read (${res.evidence.answer})`, evidence: [...evidence, res.evidence] };
      const users = isRecord(res.body) ? res.body.users : undefined;
      if (!Array.isArray(users))
        return {
          status: 'unknown',
          detail: "PagerDuty's answer had no list of users",
          evidence: [...evidence, { ...res.evidence, answer: `${res.evidence.answer}, users missing` }],
        };
      evidence.push(res.evidence);
      const hit = (users.filter(isRecord) as Array<Partial<PdUser>>).find(
        (u) => typeof u.email === 'string' && u.email.toLowerCase() === email && typeof u.id === 'string',
      );
      if (hit) return { status: 'found', id: hit.id!, evidence };
    }
    return { status: 'none', detail: 'no PagerDuty user', evidence };
  }
}

function covers(o: PdOnCall, at: Date): boolean {
  const t = at.getTime();
  return (!o.start || Date.parse(o.start) <= t) && (!o.end || Date.parse(o.end) > t);
}

const endMs = (o: PdOnCall) => (o.end ? Date.parse(o.end) : Number.POSITIVE_INFINITY);

function utc(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
