import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createUserTokenVerifier, UserTokenError } from './user-token';

const TENANT = '11111111-1111-4111-8111-111111111111';
const OTHER_TENANT = '22222222-2222-4222-8222-222222222222';
const APP = '00000000-0000-0000-0000-0000000000aa';
const MEGAN = '3e1e1fc3-0000-4000-8000-000000000002';
const LYNNE = '3e1e1fc3-0000-4000-8000-000000000006';
const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;

async function setup() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] });
  const verify = createUserTokenVerifier({
    tenantId: TENANT,
    issuers: [ISSUER, `https://sts.windows.net/${TENANT}/`],
    audiences: [`api://botid-${APP}`, APP],
    jwksUri: 'https://unused.invalid/keys',
    keys,
  });
  const sign = (claims: Record<string, unknown> = {}, opts: { expiresInSeconds?: number; key?: 'tenant' | 'other' } = {}) =>
    new SignJWT({ iss: ISSUER, aud: APP, tid: TENANT, oid: MEGAN, name: 'Megan Bowen', preferred_username: 'meganb@contoso.example', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.expiresInSeconds ?? 3600))
      .sign(opts.key === 'other' ? other.privateKey : privateKey);
  const check = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: unknown) => (e instanceof UserTokenError ? e.check : `threw ${String(e)}`),
    );
  return { verify, sign, check };
}

describe('user token verifier: the token proves the user Teams says acted', () => {
  it("proves the activity's user (object ids compared case-insensitively) and names them", async () => {
    const t = await setup();
    await expect(t.verify(await t.sign(), MEGAN.toUpperCase())).resolves.toEqual({
      oid: MEGAN,
      tid: TENANT,
      name: 'Megan Bowen',
      upn: 'meganb@contoso.example',
    });
    // v1 tokens: the App ID URI as audience, the sts.windows.net issuer.
    await expect(t.verify(await t.sign({ aud: `api://botid-${APP}`, iss: `https://sts.windows.net/${TENANT}/` }), MEGAN)).resolves.toMatchObject({
      oid: MEGAN,
    });
  });

  it("refuses another user's token, another tenant's, and a missing object id on the activity", async () => {
    const t = await setup();
    const lynnes = await t.sign({ oid: LYNNE });
    await expect(t.verify(lynnes, MEGAN)).rejects.toMatchObject({ check: 'account', token: { oid: LYNNE, tid: TENANT } });
    expect(await t.check(t.verify(await t.sign(), undefined))).toBe('account');
    expect(await t.check(t.verify(await t.sign({ tid: OTHER_TENANT, iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` }), MEGAN))).toBe('tenant');
    // Our tid but another issuer: not a token of this tenant's Entra.
    expect(await t.check(t.verify(await t.sign({ iss: 'https://login.example.net/x/v2.0' }), MEGAN))).toBe('issuer');
  });

  it('refuses tokens that fail their own checks', async () => {
    const t = await setup();
    expect(await t.check(t.verify(await t.sign({}, { key: 'other' }), MEGAN))).toBe('signature');
    expect(await t.check(t.verify(await t.sign({}, { expiresInSeconds: -600 }), MEGAN))).toBe('expired');
    expect(await t.check(t.verify(await t.sign({ aud: 'https://graph.microsoft.com' }), MEGAN))).toBe('audience');
    expect(await t.check(t.verify(await t.sign({ oid: undefined }), MEGAN))).toBe('malformed');
    expect(await t.check(t.verify('not-a-token', MEGAN))).toBe('malformed');
  });
});
