import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTVerifyGetKey } from 'jose';
import { createPimTokenValidator, PimTokenError } from './pim-caller-token';

const ISSUER = 'https://login.microsoftonline.com/tenant-1/v2.0';
const AUDIENCE = 'api://pim-bot.example.com/00000000-0000-0000-0000-0000000000aa';
const PIM_APP = '00000000-0000-0000-0000-0000000000bb';

async function setup() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const local = createLocalJWKSet({ keys: [jwk] });
  let keyLookups = 0;
  const keys: JWTVerifyGetKey = (header, token) => {
    keyLookups += 1;
    return local(header, token);
  };
  let clock = Date.now();
  const validate = createPimTokenValidator({
    issuers: [ISSUER],
    jwksUri: 'https://unused.invalid/keys',
    audience: AUDIENCE,
    allowedCallerAppIds: [PIM_APP],
    keys,
    now: () => clock,
  });
  const sign = (claims: Record<string, unknown> = {}, expiresInSeconds = 3600) =>
    new SignJWT({ azp: PIM_APP, tid: 'tenant-1', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
      .sign(privateKey);
  return { validate, sign, lookups: () => keyLookups, advance: (ms: number) => (clock += ms) };
}

describe('PIM token validator: verified-token cache', () => {
  it('verifies a token once and answers its repeats from the cache', async () => {
    const t = await setup();
    const token = await t.sign();
    const first = await t.validate(`Bearer ${token}`);
    const second = await t.validate(`Bearer ${token}`);
    expect(second).toEqual(first);
    expect(first.appId).toBe(PIM_APP);
    expect(t.lookups()).toBe(1);
    await t.validate(`Bearer ${await t.sign({ jti: 'another' })}`);
    expect(t.lookups()).toBe(2);
  });

  it('verifies again once the cached entry is five minutes old', async () => {
    const t = await setup();
    const token = await t.sign();
    await t.validate(`Bearer ${token}`);
    t.advance(5 * 60_000 + 1);
    await t.validate(`Bearer ${token}`);
    expect(t.lookups()).toBe(2);
  });

  it('does not keep a token past its expiry (plus the tolerated skew)', async () => {
    const t = await setup();
    const token = await t.sign({}, 30); // expires in 30 s, well inside the 5-minute cap
    await t.validate(`Bearer ${token}`);
    t.advance(30_000 + 120_000 + 1000);
    await t.validate(`Bearer ${token}`).catch(() => undefined); // jose decides on its own clock
    expect(t.lookups()).toBe(2);
  });

  it('never caches a refusal', async () => {
    const t = await setup();
    const foreign = await t.sign({ azp: '00000000-0000-0000-0000-0000000000cc' });
    for (let i = 0; i < 2; i++) {
      await expect(t.validate(`Bearer ${foreign}`)).rejects.toMatchObject({ check: 'caller' });
    }
    expect(t.lookups()).toBe(2);
    await expect(t.validate(`Bearer ${foreign}x`)).rejects.toBeInstanceOf(PimTokenError);
  });
});
