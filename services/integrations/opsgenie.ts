import { found, isRecord } from './findings';
import { HttpJsonClient, type FetchFn, type RetryPolicy } from './http-json';
import type { OnCallCheck, OnCallService, Requester } from './ports';

/** One read per schedule, all in parallel, so each may use most of the default 3 s decision budget. */
const OPSGENIE_READ_TIMEOUT_MS = 2000;

export interface OpsgenieSettings {
  /** `https://api.opsgenie.com` (or `https://api.eu.opsgenie.com`). */
  baseUrl: string;
  /** An API integration's key. */
  apiKey: string;
  /** Schedule ids whose on-call participants count. */
  scheduleIds: string[];
  retry?: Partial<RetryPolicy>;
}

interface OnCallsResponse {
  data?: { _parent?: { id?: string; name?: string }; onCallRecipients?: string[] };
}

/** Opsgenie Who-is-on-call: the requester is among a configured schedule's on-call recipients. */
export class OpsgenieOnCall implements OnCallService {
  readonly name = 'Opsgenie';
  private readonly http: HttpJsonClient;

  constructor(
    private readonly settings: OpsgenieSettings,
    deps: { fetch?: FetchFn } = {},
  ) {
    this.http = new HttpJsonClient({
      system: 'Opsgenie',
      baseUrl: settings.baseUrl,
      headers: { Authorization: `GenieKey ${settings.apiKey}` },
      retry: settings.retry,
      fetch: deps.fetch,
    });
  }

  async isOnCall(requester: Requester, at: Date, signal: AbortSignal): Promise<OnCallCheck> {
    const names = new Set([requester.mail, requester.userPrincipalName].filter((x): x is string => Boolean(x)).map((x) => x.toLowerCase()));
    // Opsgenie documents `yyyy-MM-dd'T'HH:mm:ssZ`; no milliseconds.
    const date = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const answers = await Promise.all(
      this.settings.scheduleIds.map(async (id) => {
        const res = await this.http.ask<unknown>({
          path: `/v2/schedules/${encodeURIComponent(id)}/on-calls`,
          query: { scheduleIdentifierType: 'id', flat: 'true', date },
          timeoutMs: OPSGENIE_READ_TIMEOUT_MS,
          signal,
          what: `reading on-calls of schedule ${id}`,
          asked: `on-call recipients of schedule ${id}`,
        });
        if (!res.ok) return { status: 'unknown' as const, evidence: res.evidence };
        const data = isRecord(res.body) && isRecord(res.body.data) ? (res.body.data as OnCallsResponse['data']) : undefined;
        const recipients = data?.onCallRecipients;
        if (!Array.isArray(recipients))
          return { status: 'unknown' as const, evidence: { ...res.evidence, answer: `${res.evidence.answer}, onCallRecipients missing` } };
        const on = recipients.some((r) => typeof r === 'string' && names.has(r.toLowerCase()));
        return { status: on ? ('pass' as const) : ('fail' as const), evidence: res.evidence, schedule: data?._parent?.name };
      }),
    );
    const evidence = answers.map((a) => a.evidence);
    const on = answers.find((a) => a.status === 'pass');
    if (on) return found.pass(`On call for "${('schedule' in on && on.schedule) || 'a schedule'}" (Opsgenie)`, ...evidence);
    // An unanswered schedule might have said yes: that is not "not on call".
    if (answers.some((a) => a.status === 'unknown') || answers.length === 0)
      return found.unknown('Opsgenie could not say whether the requester is on call.', ...evidence);
    return found.fail(`Not on call in Opsgenie at ${date.slice(0, 16).replace('T', ' ')} UTC.`, ...evidence);
  }
}
