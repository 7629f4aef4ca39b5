import { onBehalfOfCache } from './approver-token';

const OPTIONS = {
  tenantId: '11111111-1111-4111-8111-111111111111',
  clientId: '22222222-2222-4222-8222-222222222222',
  clientSecret: 'not-a-real-secret',
  authorityHost: 'https://login.microsoftonline.com',
  disableInstanceDiscovery: false,
};

/** An unsigned token with an `exp` (the cache reads it; Entra verifies the token itself). */
function token(sub: string, expSeconds: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub, exp: expSeconds })}.sig`;
}

describe('on-behalf-of credentials per SSO token', () => {
  it('reuses one per token until the token expires, never across tokens, and keeps at most `max`', () => {
    let now = 1_000_000_000_000;
    const oboFor = onBehalfOfCache(OPTIONS, { max: 2, now: () => now });
    const adele = token('adele', now / 1000 + 3600);
    const megan = token('megan', now / 1000 + 3600);
    const first = oboFor(adele);
    expect(oboFor(adele)).toBe(first);
    const meganFirst = oboFor(megan);
    expect(meganFirst).not.toBe(first);
    // A third token pushes out the least recently used (megan's, since adele's was used after it).
    oboFor(adele);
    oboFor(token('isaiah', now / 1000 + 3600));
    expect(oboFor(adele)).toBe(first);
    expect(oboFor(megan)).not.toBe(meganFirst);
    // After the token's expiry a new credential is made.
    now += 3601_000;
    expect(oboFor(adele)).not.toBe(first);
  });

  it('keeps a token without a readable expiry for five minutes only', () => {
    let now = 1_000_000_000_000;
    const oboFor = onBehalfOfCache(OPTIONS, { now: () => now });
    const first = oboFor('opaque-token');
    now += 4 * 60_000;
    expect(oboFor('opaque-token')).toBe(first);
    now += 2 * 60_000;
    expect(oboFor('opaque-token')).not.toBe(first);
  });
});

describe('on-behalf-of credentials: a failed exchange', () => {
  it('is not kept: the next click gets a new credential that really asks Entra again', async () => {
    const made: string[] = [];
    let fail = true;
    const oboFor = onBehalfOfCache(OPTIONS, {
      create: (t) => {
        made.push(t);
        return {
          getToken: async () => {
            if (fail) throw Object.assign(new Error('Entra answered 503'), { statusCode: 503 });
            return { token: 'graph-token', expiresOnTimestamp: Date.now() + 3_600_000 };
          },
        };
      },
    });
    const sso = token('adele', Date.now() / 1000 + 3600);
    const first = oboFor(sso);
    await expect(first.getToken('https://graph.microsoft.com/.default')).rejects.toThrow('503');
    fail = false;
    const second = oboFor(sso);
    expect(second).not.toBe(first);
    await expect(second.getToken('https://graph.microsoft.com/.default')).resolves.toMatchObject({ token: 'graph-token' });
    expect(oboFor(sso)).toBe(second); // a working credential is kept
    expect(made).toHaveLength(2);
  });
});
