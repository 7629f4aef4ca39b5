import {
  AuthenticationHandler,
  Client,
  HTTPMessageHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import type { TokenCredential } from '@azure/identity';
import { reuseTokens } from '../auth/token-reuse';
import { outboundClientRequestId } from '../observability/correlation';
import type { Metrics } from '../observability/metrics';

/** Graph asks clients to honour Retry-After; three tries bound the wait inside an invoke's budget. */
const MAX_RETRIES = 3;
/** Seconds before a retry when Graph gives no Retry-After (then doubled per attempt, with jitter). */
const RETRY_DELAY_SECONDS = 1;

export interface GraphClientOptions {
  /** Counts every response (each retry too), 429s included. */
  metrics?: Pick<Metrics, 'apiResponse'>;
}

/**
 * A Graph client on the SDK's default chain (authentication, retry honouring Retry-After, redirects,
 * telemetry), with one step of ours between retry and the wire: it sends the current request's
 * correlation id as `client-request-id` (Graph echoes it in its response and its own logs) and counts
 * each response.
 */
export function createGraphClient(
  baseUrl: string,
  credential: TokenCredential,
  scope = 'https://graph.microsoft.com/.default',
  opts: GraphClientOptions = {},
): Client {
  const host = new URL(baseUrl).hostname;
  const chain: Middleware[] = [
    new AuthenticationHandler(credentialTokens(reuseTokens(credential), scope)),
    new RetryHandler(new RetryHandlerOptions(RETRY_DELAY_SECONDS, MAX_RETRIES)),
    new RedirectHandler(new RedirectHandlerOptions()),
    new CorrelationAndMetricsHandler(host, opts.metrics),
    new TelemetryHandler(),
    new HTTPMessageHandler(),
  ];
  for (let i = 0; i < chain.length - 1; i++) chain[i]!.setNext!(chain[i + 1]!);
  return Client.initWithMiddleware({
    middleware: chain[0],
    baseUrl: `${baseUrl.replace(/\/$/, '')}/`,
    // The Graph client sends the bearer token only to Graph hosts or these; a sovereign cloud or the
    // simulator is another host.
    customHosts: new Set([host]),
    defaultVersion: 'v1.0',
  });
}

/**
 * The credential's token for every request, as the SDK's TokenCredentialAuthenticationProvider gives it,
 * without the error object that provider builds (stack trace and all) on every call just in case.
 */
function credentialTokens(credential: TokenCredential, scope: string): AuthenticationProvider {
  return {
    async getAccessToken(): Promise<string> {
      const token = await credential.getToken([scope]);
      if (!token) throw new Error(`No access token for ${scope} from the credential`);
      return token.token;
    },
  };
}

const CLIENT_REQUEST_ID = 'client-request-id';

class CorrelationAndMetricsHandler implements Middleware {
  private next?: Middleware;

  constructor(
    private readonly host: string,
    private readonly metrics: Pick<Metrics, 'apiResponse'> | undefined,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const id = outboundClientRequestId();
    if (id && hostOf(context.request) === this.host) setHeaderIfAbsent(context, CLIENT_REQUEST_ID, id);
    try {
      await this.next!.execute(context);
    } catch (err) {
      this.metrics?.apiResponse('graph', null);
      throw err;
    }
    this.metrics?.apiResponse('graph', context.response?.status ?? null);
  }
}

function hostOf(request: RequestInfo): string | null {
  try {
    return new URL(typeof request === 'string' ? request : request.url).hostname;
  } catch {
    return null;
  }
}

function setHeaderIfAbsent(context: Context, name: string, value: string): void {
  if (typeof context.request !== 'string') {
    if (!context.request.headers.has(name)) context.request.headers.set(name, value);
    return;
  }
  context.options ??= {};
  const headers = context.options.headers;
  if (headers instanceof Headers) {
    if (!headers.has(name)) headers.set(name, value);
  } else if (Array.isArray(headers)) {
    if (!headers.some(([k]) => k.toLowerCase() === name)) headers.push([name, value]);
  } else {
    const existing = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name);
    if (!existing) context.options.headers = { ...(headers ?? {}), [name]: value };
  }
}
