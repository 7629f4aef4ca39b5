import type { SimContext } from '../context';
import { json, type SimRequest, type SimResponse } from '../http';
import type { Router } from '../router';
import { DEMO_INTEGRATION_CREDENTIALS, type SeedJiraIssue } from '../seed';
import { basicCredentials, integrationsOf } from './common';

/** Jira Cloud REST v3 `GET /rest/api/3/issue/{issueIdOrKey}` under `/jira`, basic auth with email + API token. */

export const JIRA_PREFIX = '/jira';

export function jiraError(status: number, messages: string[]): SimResponse {
  return json(status, { errorMessages: messages, errors: {} });
}

const CATEGORY = {
  new: { id: 2, name: 'To Do', colorName: 'blue-gray' },
  indeterminate: { id: 4, name: 'In Progress', colorName: 'yellow' },
  done: { id: 3, name: 'Done', colorName: 'green' },
} as const;

function issueJson(ctx: SimContext, req: SimRequest, i: SeedJiraIssue): Record<string, unknown> {
  const base = `${req.origin}${JIRA_PREFIX}/rest/api/3`;
  const cat = CATEGORY[i.status.category];
  const user = i.assignee ? ctx.state.user(i.assignee) : undefined;
  const accountId = user ? `712020:${user.id}` : undefined;
  const all: Record<string, unknown> = {
    summary: i.summary,
    status: {
      self: `${base}/status/${i.status.id}`,
      description: '',
      iconUrl: `${req.origin}${JIRA_PREFIX}/images/icons/statuses/generic.png`,
      name: i.status.name,
      id: i.status.id,
      statusCategory: { self: `${base}/statuscategory/${cat.id}`, id: cat.id, key: i.status.category, colorName: cat.colorName, name: cat.name },
    },
    assignee: user
      ? {
          self: `${base}/user?accountId=${encodeURIComponent(accountId!)}`,
          accountId,
          emailAddress: user.mail ?? user.userPrincipalName,
          avatarUrls: { '48x48': `${req.origin}${JIRA_PREFIX}/avatar/${user.id}` },
          displayName: user.displayName,
          active: true,
          timeZone: 'Etc/UTC',
          accountType: 'atlassian',
        }
      : null,
  };
  const wanted = req.query
    .get('fields')
    ?.split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const fields = wanted && !wanted.includes('*all') ? Object.fromEntries(Object.entries(all).filter(([k]) => wanted.includes(k))) : all;
  return {
    expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations',
    id: i.id,
    self: `${base}/issue/${i.id}`,
    key: i.key,
    fields,
  };
}

export function registerJira(router: Router, ctx: SimContext): void {
  router.add('GET', `${JIRA_PREFIX}/rest/api/3/issue/:key`, (req, p) => {
    const c = basicCredentials(req);
    const creds = DEMO_INTEGRATION_CREDENTIALS.jira;
    if (!c || c.user !== creds.email || c.secret !== creds.apiToken) {
      return { status: 401, headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: 'Client must be authenticated to access this resource.' };
    }
    const k = p.key!.toUpperCase();
    const issue = integrationsOf(ctx).jira.issues.find((i) => i.key.toUpperCase() === k || i.id === p.key);
    if (!issue) return jiraError(404, ['Issue does not exist or you do not have permission to see it.']);
    return json(200, issueJson(ctx, req, issue));
  });
}
