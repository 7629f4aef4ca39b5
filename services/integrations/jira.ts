import { found, isRecord, noted } from './findings';
import { basicAuth, HttpJsonClient, type FetchFn, type RetryPolicy } from './http-json';
import type { Evidence, Finding, Requester, TicketCheck, TicketFinding, TicketQuestion, TicketSystem } from './ports';

/** One issue read; it is the only Jira call of a check, so most of the decision budget is its to use. */
const JIRA_READ_TIMEOUT_MS = 2000;

export interface JiraSettings {
  /** `https://<site>.atlassian.net` */
  baseUrl: string;
  /** The Atlassian account the API token belongs to. */
  email: string;
  apiToken: string;
  /** Compare the assignee's e-mail with the requester's; Jira hides e-mails under some privacy settings (then unknown). */
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

/**
 * Jira Cloud REST v3: the issue exists and its status category is not Done. With `checkAssignee` the
 * assignee's e-mail is compared with the requester's, which answers a role's `mustBeAssignedToRequester`;
 * without it, or when Jira hides the e-mail (a documented privacy setting), the assignment is unknown and
 * such a role goes to a person.
 */
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

  async check(q: TicketQuestion, signal: AbortSignal): Promise<TicketCheck> {
    const key = q.number.trim().toUpperCase();
    if (!/^[A-Z][A-Z0-9_]*-\d+$/.test(key)) {
      return only(key, 'fail', `${key} is not a Jira issue key (like OPS-1234); cite the issue key.`, noted(`issue ${key}`, 'Jira', 'not an issue key'));
    }
    const res = await this.http.ask<unknown>({
      path: `/rest/api/3/issue/${encodeURIComponent(key)}`,
      query: { fields: 'summary,status,assignee' },
      timeoutMs: JIRA_READ_TIMEOUT_MS,
      signal,
      accept: [404],
      what: `looking up ${key}`,
      asked: `issue ${key}`,
    });
    if (!res.ok) return only(key, 'unknown', `${key} could not be read from Jira (${res.evidence.answer}).`, res.evidence);
    const ev = res.evidence;
    if (res.status === 404) return only(key, 'fail', `Ticket ${key} was not found in Jira. Check the key.`, { ...ev, answer: 'HTTP 404, no such issue' });
    const body = isRecord(res.body) ? (res.body as Issue) : null;
    if (!body || !isRecord(body.fields))
      return only(key, 'unknown', `Jira's answer about ${key} had no fields.`, { ...ev, answer: `${ev.answer}, fields missing` });
    const f = body.fields;
    const summary = `${body.key ?? key} "${f.summary ?? ''}" (${f.status?.name ?? 'status unknown'})`;
    const findings: TicketFinding[] = [{ aspect: 'exists', ...found.pass(`${key} exists`, ev) }];
    const category = f.status?.statusCategory?.key;
    if (typeof category !== 'string' || !category) {
      findings.push({
        aspect: 'open',
        ...found.unknown(`Jira did not say whether ${key} is open (status category missing).`, { ...ev, answer: `${ev.answer}, statusCategory missing` }),
      });
    } else {
      findings.push({
        aspect: 'open',
        ...(category === 'done'
          ? found.fail(`Ticket ${key} is closed (${f.status?.name ?? 'Done'}). Reopen it or cite an open ticket.`, ev)
          : found.pass(`${key} is open (${f.status?.name ?? category})`, ev)),
      });
    }
    if (q.assignment) findings.push({ aspect: 'assignment', ...this.assignment(key, f, q.requester, ev) });
    return { summary, findings };
  }

  private assignment(key: string, f: NonNullable<Issue['fields']>, requester: Requester, ev: Evidence): Finding {
    if (!this.checkAssignee)
      return found.unknown(
        `The assignment of ${key} is not checked for Jira (integrations.jira.checkAssignee is off).`,
        noted(`assignee of ${key}`, 'Jira', 'not compared (checkAssignee off)'),
      );
    if (!('assignee' in f))
      return found.unknown(`Jira did not say who ${key} is assigned to (field assignee missing).`, { ...ev, answer: `${ev.answer}, assignee missing` });
    if (f.assignee === null || f.assignee === undefined)
      return found.fail(`Ticket ${key} is not assigned to anyone. Ask for it to be assigned to you, or cite your own ticket.`, ev);
    const email = f.assignee.emailAddress;
    if (typeof email !== 'string' || !email)
      return found.unknown(`The assignment of ${key} could not be checked: Jira hides the assignee's e-mail address.`, {
        ...ev,
        answer: `${ev.answer}, assignee e-mail hidden`,
      });
    const mine = [requester.mail, requester.userPrincipalName].some((x) => x?.toLowerCase() === email.toLowerCase());
    return mine
      ? found.pass(`${key} is assigned to the requester`, ev)
      : found.fail(`Ticket ${key} is not assigned to you. Ask for it to be assigned, or cite your own ticket.`, ev);
  }
}

function only(key: string, status: 'fail' | 'unknown', detail: string, evidence: Evidence): TicketCheck {
  return { summary: key, findings: [{ aspect: 'exists', status, detail, evidence: [evidence] }] };
}
