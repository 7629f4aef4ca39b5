import { HttpJsonClient, type FetchFn, type RetryPolicy } from './http-json';
import type { OnCallCheck, OnCallService, Requester } from './ports';

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

  constructor(private readonly settings: PagerDutySettings, deps: { fetch?: FetchFn } = {}) {
    this.http = new HttpJsonClient({
      system: 'PagerDuty',
      baseUrl: settings.baseUrl,
      headers: { Authorization: `Token token=${settings.apiKey}`, Accept: 'application/vnd.pagerduty+json;version=2' },
      retry: settings.retry,
      fetch: deps.fetch,
    });
  }

  async isOnCall(requester: Requester, at: Date, signal: AbortSignal): Promise<OnCallCheck> {
    const userId = await this.findUser(requester, signal);
    if (!userId) return { onCall: false, detail: `No PagerDuty user has the email ${requester.mail ?? requester.userPrincipalName}.` };
    // PagerDuty wants until after since; one minute around `at` finds every entry that covers it.
    const since = at.toISOString();
    const until = new Date(at.getTime() + 60_000).toISOString();
    for (let page = 0, offset = 0; page < MAX_PAGES; page++) {
      const res = await this.http.get<{ oncalls?: PdOnCall[]; more?: boolean; limit?: number }>({
        path: '/oncalls',
        query: {
          'user_ids[]': [userId],
          'escalation_policy_ids[]': this.settings.escalationPolicyIds?.length ? this.settings.escalationPolicyIds : undefined,
          since,
          until,
          limit: 100,
          offset,
        },
        timeoutMs: PAGERDUTY_READ_TIMEOUT_MS,
        signal,
        what: 'reading on-calls',
      });
      const entries = res.body?.oncalls ?? [];
      const covering = entries.filter((o) => o.user?.id === userId && covers(o, at));
      if (covering.length > 0) {
        // The longest-running entry is the most useful "until".
        const best = covering.sort((a, b) => endMs(b) - endMs(a))[0]!;
        const what = best.schedule?.summary ?? best.escalation_policy?.summary ?? 'an escalation policy';
        return { onCall: true, detail: `On call for "${what}"${best.end ? ` until ${utc(new Date(best.end))}` : ''} (PagerDuty)` };
      }
      if (!res.body?.more) break;
      offset += res.body.limit ?? entries.length;
    }
    return { onCall: false, detail: `Not on call in PagerDuty at ${utc(at)}.` };
  }

  private async findUser(r: Requester, signal: AbortSignal): Promise<string | null> {
    const emails = [...new Set([r.mail, r.userPrincipalName].filter((x): x is string => Boolean(x)).map((x) => x.toLowerCase()))];
    for (const email of emails) {
      // `query` matches names and emails by prefix and substring; keep only the exact email.
      const res = await this.http.get<{ users?: PdUser[] }>({
        path: '/users',
        query: { query: email, limit: 25 },
        timeoutMs: PAGERDUTY_READ_TIMEOUT_MS,
        signal,
        what: 'looking up the requester',
      });
      const hit = res.body?.users?.find((u) => u.email?.toLowerCase() === email);
      if (hit) return hit.id;
    }
    return null;
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
