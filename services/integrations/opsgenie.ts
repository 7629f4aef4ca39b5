import { HttpJsonClient, type FetchFn, type RetryPolicy } from './http-json';
import { IntegrationUnavailable, type OnCallCheck, type OnCallService, type Requester } from './ports';

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

  constructor(private readonly settings: OpsgenieSettings, deps: { fetch?: FetchFn } = {}) {
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
    const answers = await Promise.allSettled(this.settings.scheduleIds.map((id) => this.http.get<OnCallsResponse>({
      path: `/v2/schedules/${encodeURIComponent(id)}/on-calls`,
      query: { scheduleIdentifierType: 'id', flat: 'true', date },
      timeoutMs: OPSGENIE_READ_TIMEOUT_MS,
      signal,
      what: `reading on-calls of schedule ${id}`,
    })));
    const on = answers.find((a) => a.status === 'fulfilled' && (a.value.body?.data?.onCallRecipients ?? []).some((r) => names.has(r.toLowerCase())));
    if (on && on.status === 'fulfilled') {
      return { onCall: true, detail: `On call for "${on.value.body?.data?._parent?.name ?? 'a schedule'}" (Opsgenie)` };
    }
    // An unanswered schedule might have said yes: report the failure rather than "not on call".
    const failed = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failed) throw failed.reason instanceof IntegrationUnavailable ? failed.reason : new IntegrationUnavailable('Opsgenie', 'Opsgenie could not be read.');
    return { onCall: false, detail: `Not on call in Opsgenie at ${date.slice(0, 16).replace('T', ' ')} UTC.` };
  }
}
