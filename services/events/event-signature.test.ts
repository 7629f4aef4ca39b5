import { createHmac } from 'node:crypto';
import { checkSignatureHeaders, EventSignatureError, signEvent, verifySignature } from './event-signature';

const SECRET = 'an-events-secret-of-at-least-32-bytes!';
const NOW = new Date('2026-03-02T08:00:00Z');
const TS = Math.floor(NOW.getTime() / 1000);
const BODY = Buffer.from('{"eventId":"e1"}');

function check(ts: string | undefined, sig: string | undefined, now = NOW, body = BODY): string {
  try {
    verifySignature(SECRET, checkSignatureHeaders(ts, sig, now), body);
    return 'ok';
  } catch (err) {
    if (err instanceof EventSignatureError) return err.check;
    throw err;
  }
}

describe('HMAC signatures on inbound events', () => {
  it('signs "<timestamp>.<body>" with HMAC-SHA256, as the docs tell senders to', () => {
    const expected = createHmac('sha256', SECRET).update(`${TS}.{"eventId":"e1"}`).digest('hex');
    expect(signEvent(SECRET, TS, BODY)).toBe(`sha256=${expected}`);
  });

  it('accepts a fresh, correct signature (either hex case)', () => {
    expect(check(String(TS), signEvent(SECRET, TS, BODY))).toBe('ok');
    expect(check(String(TS), signEvent(SECRET, TS, BODY).toUpperCase().replace('SHA256=', 'sha256='))).toBe('ok');
  });

  it.each([
    ['no timestamp', undefined, 'sig', 'missing'],
    ['no signature', String(TS), undefined, 'missing'],
    ['a timestamp in milliseconds with a dot', `${TS}.5`, `sha256=${'0'.repeat(64)}`, 'bad_format'],
    ['an ISO timestamp', NOW.toISOString(), `sha256=${'0'.repeat(64)}`, 'bad_format'],
    ['a bare hex signature', String(TS), '0'.repeat(64), 'bad_format'],
    ['a short signature', String(TS), 'sha256=abc', 'bad_format'],
  ])('refuses %s as %s', (_name, ts, sig, failed) => {
    expect(check(ts, sig)).toBe(failed);
  });

  it('refuses a timestamp more than five minutes old or ahead, and accepts one at the edge', () => {
    for (const offset of [-301, 301]) expect(check(String(TS + offset), signEvent(SECRET, TS + offset, BODY))).toBe('stale_timestamp');
    for (const offset of [-300, 300]) expect(check(String(TS + offset), signEvent(SECRET, TS + offset, BODY))).toBe('ok');
  });

  it('refuses a tampered body, another timestamp, or another secret', () => {
    expect(check(String(TS), signEvent(SECRET, TS, BODY), NOW, Buffer.from('{"eventId":"e2"}'))).toBe('bad_signature');
    expect(check(String(TS + 1), signEvent(SECRET, TS, BODY))).toBe('bad_signature');
    expect(check(String(TS), signEvent(`${SECRET}x`, TS, BODY))).toBe('bad_signature');
  });
});
