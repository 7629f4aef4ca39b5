import type { SimContext } from '../context';
import type { SimRequest, SimResponse } from '../http';
import type { Router } from '../router';
import { JIRA_PREFIX, jiraError, registerJira } from './jira';
import { OPSGENIE_PREFIX, opsgenieError, registerOpsgenie } from './opsgenie';
import { PAGERDUTY_PREFIX, pagerDutyError, registerPagerDuty } from './pagerduty';
import { SERVICENOW_PREFIX, registerServiceNow, serviceNowError } from './servicenow';

/** The systems of record the decision service checks, each under its own path prefix on the simulator. */
export function registerIntegrations(router: Router, ctx: SimContext): void {
  registerServiceNow(router, ctx);
  registerJira(router, ctx);
  registerPagerDuty(router, ctx);
  registerOpsgenie(router, ctx);
}

const under = (req: SimRequest, prefix: string) => req.path === prefix || req.path.startsWith(`${prefix}/`);

/**
 * An injected fault or an unknown route, in the error body of the system the path belongs to;
 * undefined for paths outside the integrations.
 */
export function integrationErrorResponse(req: SimRequest, status: number, headers: Record<string, string> = {}): SimResponse | undefined {
  const withHeaders = (r: SimResponse): SimResponse => ({ ...r, headers: { ...(r.headers ?? {}), ...headers } });
  const message = status === 429 ? 'Too many requests' : status === 404 ? 'Not found' : status >= 500 ? 'Internal server error' : `HTTP ${status}`;
  if (under(req, SERVICENOW_PREFIX)) {
    return withHeaders(
      status === 429
        ? serviceNowError(
            429,
            'Rate limit exceeded',
            'The rate limit for this user and endpoint has been exceeded; retry after the time in the Retry-After header.',
          )
        : serviceNowError(status, message, `Injected fault (HTTP ${status}).`),
    );
  }
  if (under(req, JIRA_PREFIX)) return withHeaders(jiraError(status, [status === 429 ? 'Rate limit exceeded.' : `${message} (HTTP ${status}).`]));
  if (under(req, PAGERDUTY_PREFIX)) {
    return withHeaders(status === 429 ? pagerDutyError(429, 2020, 'Rate Limit Exceeded') : pagerDutyError(status, 2000, message));
  }
  if (under(req, OPSGENIE_PREFIX))
    return withHeaders(opsgenieError(status, status === 429 ? 'You are making too many requests! To avoid errors, we recommend you limit requests.' : message));
  return undefined;
}
