import { basicAuth, HttpJsonClient, type FetchFn, type RetryPolicy } from './http-json';
import type { ActivationWindow, Requester, TicketCheck, TicketSystem } from './ports';

/** One issue read; it is the only Jira call of a check, so most of the decision budget is its to use. */
const JIRA_READ_TIMEOUT_MS = 2000;

export interface JiraSettings {
  /** `https://<site>.atlassian.net` */
  baseUrl: string;
  /** The Atlassian account the API token belongs to. */
  email: string;
  apiToken: string;
  /** Compare the assignee's email with the requester's; Jira hides emails under some privacy settings (then null). */
  checkAssignee?: boolean;
  names?: string[];
  retry?: Partial<RetryPolicy>;
}

interface Issue {
  key?: string;
  fields?: {
    summary?: string;
    status?: { name?: string; statusCategory?: { key?: string } };
    assignee?: { emailAddress?: string | null; displayName?: string } | null;
  };
}

/** Jira Cloud REST v3: the issue exists and its status category is not Done. */
export class JiraTickets implements TicketSystem {
  readonly names: string[];
  private readonly http: HttpJsonClient;
  private readonly checkAssignee: boolean;

  constructor(settings: JiraSettings, deps: { fetch?: FetchFn } = {}) {
    this.names = settings.names ?? ['Jira'];
    this.checkAssignee = settings.checkAssignee ?? false;
    this.http = new HttpJsonClient({
      system: 'Jira',
      baseUrl: settings.baseUrl,
      headers: { Authorization: basicAuth(settings.email, settings.apiToken) },
      retry: settings.retry,
      fetch: deps.fetch,
    });
  }

  async check(ticketNumber: string, requester: Requester, _window: ActivationWindow, signal: AbortSignal): Promise<TicketCheck> {
    const key = ticketNumber.trim().toUpperCase();
    const notFound: TicketCheck = { found: false, open: false, assignedToRequester: null, windowCovered: null, summary: key, problems: [] };
    if (!/^[A-Z][A-Z0-9_]*-\d+$/.test(key)) {
      return { ...notFound, problems: [`${key} is not a Jira issue key (like OPS-1234); cite the issue key.`] };
    }
    const res = await this.http.get<Issue>({
      path: `/rest/api/3/issue/${encodeURIComponent(key)}`,
      query: { fields: 'summary,status,assignee' },
      timeoutMs: JIRA_READ_TIMEOUT_MS,
      signal,
      accept: [404],
      what: `looking up ${key}`,
    });
    if (res.status === 404 || !res.body?.fields) return notFound;
    const f = res.body.fields;
    const open = f.status?.statusCategory?.key !== 'done';
    const summary = `${res.body.key ?? key} "${f.summary ?? ''}" (${f.status?.name ?? 'unknown status'})`;
    let assignedToRequester: boolean | null = null;
    if (this.checkAssignee) {
      if (!f.assignee) assignedToRequester = false;
      else if (f.assignee.emailAddress) {
        const email = f.assignee.emailAddress.toLowerCase();
        assignedToRequester = [requester.mail, requester.userPrincipalName].some((x) => x?.toLowerCase() === email);
      }
    }
    return { found: true, open, assignedToRequester, windowCovered: null, summary, problems: [] };
  }
}
