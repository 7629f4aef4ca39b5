import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HMAC-SHA256 signatures on inbound events, for senders that cannot get an Entra token (a
 * ServiceNow flow, a Logic App without managed identity). The sender signs
 * `<unix seconds>.<raw body>` with the shared secret and sends
 *   X-PIM-Bot-Timestamp: <unix seconds>
 *   X-PIM-Bot-Signature: sha256=<lower-case hex>
 * The timestamp inside the signed text is what bounds a replay: a captured request is useless
 * after the window, and inside it the event id makes a replay a no-op.
 */
export const TIMESTAMP_HEADER = 'x-pim-bot-timestamp';
export const SIGNATURE_HEADER = 'x-pim-bot-signature';
/** How far the sender's clock and ours may disagree, and how long a captured request stays usable. */
export const REPLAY_WINDOW_SECONDS = 5 * 60;

export type SignatureCheck = 'missing' | 'bad_format' | 'stale_timestamp' | 'bad_signature';

export class EventSignatureError extends Error {
  constructor(
    readonly check: SignatureCheck,
    message: string,
  ) {
    super(message);
    this.name = 'EventSignatureError';
  }
}

export interface SignatureHeaders {
  timestamp: number;
  digest: Buffer;
}

/**
 * Checks the two headers before the body is read: both present, well formed, and the timestamp
 * inside the replay window of `now`.
 */
export function checkSignatureHeaders(timestampHeader: string | undefined, signatureHeader: string | undefined, now: Date): SignatureHeaders {
  if (!timestampHeader || !signatureHeader) {
    const missing = [!timestampHeader ? 'X-PIM-Bot-Timestamp' : '', !signatureHeader ? 'X-PIM-Bot-Signature' : ''].filter(Boolean).join(' and ');
    throw new EventSignatureError('missing', `Missing ${missing}: sign "<unix seconds>.<body>" with HMAC-SHA256 and send both headers.`);
  }
  if (!/^\d{1,12}$/.test(timestampHeader.trim())) {
    throw new EventSignatureError('bad_format', 'X-PIM-Bot-Timestamp must be the Unix time in seconds, e.g. 1767225600.');
  }
  const sig = /^sha256=([0-9a-fA-F]{64})$/.exec(signatureHeader.trim());
  if (!sig) throw new EventSignatureError('bad_format', 'X-PIM-Bot-Signature must be "sha256=" followed by the 64 hex digits of the HMAC-SHA256.');
  const timestamp = Number(timestampHeader.trim());
  const skew = Math.abs(Math.floor(now.getTime() / 1000) - timestamp);
  if (skew > REPLAY_WINDOW_SECONDS) {
    throw new EventSignatureError(
      'stale_timestamp',
      `X-PIM-Bot-Timestamp is ${skew} s away from our clock; it must be within ${REPLAY_WINDOW_SECONDS} s (sign each request when sending it, and keep the clock in sync).`,
    );
  }
  return { timestamp, digest: Buffer.from(sig[1]!, 'hex') };
}

/** Verifies the signature over the raw body bytes in constant time; throws `bad_signature` when it does not match. */
export function verifySignature(secret: string, headers: SignatureHeaders, rawBody: Buffer): void {
  const expected = hmac(secret, headers.timestamp, rawBody);
  if (expected.length !== headers.digest.length || !timingSafeEqual(expected, headers.digest)) {
    throw new EventSignatureError(
      'bad_signature',
      'X-PIM-Bot-Signature does not match: sign exactly "<X-PIM-Bot-Timestamp>.<body bytes as sent>" with the shared secret (EVENTS_HMAC_SECRET).',
    );
  }
}

/** The X-PIM-Bot-Signature value for a body sent at `timestamp` (what a sender computes). */
export function signEvent(secret: string, timestamp: number, rawBody: Buffer | string): string {
  return `sha256=${hmac(secret, timestamp, typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody).toString('hex')}`;
}

function hmac(secret: string, timestamp: number, rawBody: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(rawBody).digest();
}
