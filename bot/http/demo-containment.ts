import { isLoopbackUrl } from '../../services/config/microsoft-endpoints';
import { errorResult, HttpError, type HttpResult } from './http-body';

/**
 * Demo mode authenticates no Bot Framework caller (the Teams playground sends no token), so what keeps it
 * to the one machine it runs on is containment, checked here, on top of the config's (loopback listener,
 * loopback simulator and connectors, the simulator's secret, an explicit DEMO_ACKNOWLEDGE):
 *
 * - the Host header must name loopback (127.0.0.1, localhost or [::1], with or without a port): a web page
 *   the demo user opens cannot reach the bot by DNS rebinding (its requests carry the attacker's name, e.g.
 *   `Host: attacker.example:3978`, though they arrive on 127.0.0.1);
 * - an activity's serviceUrl must be on loopback: the bot stores it as the user's conversation and sends
 *   its replies and later messages there, so a foreign one would make the bot post to another server.
 *
 * Production needs neither: channel authentication binds each activity to the serviceUrl in its Bot
 * Framework token, and the bot's public name is whatever the operator's ingress routes.
 */

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * True when a request's Host header names loopback: `127.0.0.1`, `localhost` or `[::1]`, optionally with a
 * port. A missing, repeated or malformed Host is refused (HTTP/1.1 requires exactly one; browsers always send it).
 */
export function isAllowedDemoHost(hostHeader: string | string[] | undefined): boolean {
  if (typeof hostHeader !== 'string') return false;
  const m = /^(\[[^\]]*\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(hostHeader.trim());
  if (!m) return false;
  if (m[2] !== undefined && Number(m[2]) > 65535) return false;
  return LOOPBACK_NAMES.has(m[1]!.toLowerCase());
}

/** The answer to a demo request whose Host is not loopback (403), or null when it may proceed. */
export function refuseDemoHost(hostHeader: string | string[] | undefined): HttpResult | null {
  if (isAllowedDemoHost(hostHeader)) return null;
  const shown = typeof hostHeader === 'string' ? hostHeader.replace(/[^\x21-\x7e]/g, '?').slice(0, 100) : hostHeader === undefined ? 'none' : 'more than one';
  return errorResult(
    new HttpError(
      403,
      'demo_host_not_allowed',
      `Demo mode answers only requests addressed to 127.0.0.1, localhost or [::1] (with the port); the Host header was ${JSON.stringify(shown)}.`,
    ),
  );
}

/** True when a serviceUrl (from an activity) is on loopback, where the demo's playground and test connectors run. */
export function isLoopbackServiceUrl(serviceUrl: unknown): boolean {
  return typeof serviceUrl === 'string' && isLoopbackUrl(serviceUrl);
}

/**
 * POST /api/messages in demo, after the envelope check (refuseMalformedActivity) and before botbuilder sees
 * the activity: an activity whose serviceUrl is not on loopback is refused (403) before anything is stored
 * or sent. Null when it may proceed.
 */
export function refuseNonLoopbackServiceUrl(activity: unknown): HttpResult | null {
  const serviceUrl = (activity as { serviceUrl?: unknown } | null)?.serviceUrl;
  if (isLoopbackServiceUrl(serviceUrl)) return null;
  let shown = 'not a URL';
  try {
    const url = new URL(String(serviceUrl));
    shown = `${url.protocol}//${url.host}`.slice(0, 120);
  } catch {
    // shown stays 'not a URL'
  }
  return errorResult(
    new HttpError(
      403,
      'demo_service_url_not_allowed',
      `Demo mode talks only to a Bot Connector on loopback (the Teams playground's); this activity's serviceUrl is ${shown}. Nothing was stored or sent.`,
      'serviceUrl',
    ),
  );
}
