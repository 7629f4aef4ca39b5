import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { reuseTokens } from './token-reuse';

const MINUTE = 60_000;

function credential(lifetimeMs = 60 * MINUTE, clock: () => number = Date.now) {
  const calls: Array<{ scopes: string | string[]; options?: GetTokenOptions }> = [];
  let n = 0;
  let failNext = false;
  const cred: TokenCredential = {
    async getToken(scopes, options): Promise<AccessToken | null> {
      calls.push({ scopes, options });
      if (failNext) {
        failNext = false;
        throw new Error('Entra is down');
      }
      return { token: `token-${++n}`, expiresOnTimestamp: clock() + lifetimeMs };
    },
  };
  return { cred, calls, failOnce: () => (failNext = true) };
}

describe('reusing a credential’s tokens', () => {
  it('hands out the same token until five minutes before it expires, then asks the credential again', async () => {
    let now = 1_000_000;
    const { cred, calls } = credential(60 * MINUTE, () => now);
    const reused = reuseTokens(cred, () => now);
    expect((await reused.getToken('https://graph.microsoft.com/.default'))!.token).toBe('token-1');
    now += 54 * MINUTE;
    expect((await reused.getToken('https://graph.microsoft.com/.default'))!.token).toBe('token-1');
    expect(calls).toHaveLength(1);
    now += 2 * MINUTE;
    expect((await reused.getToken('https://graph.microsoft.com/.default'))!.token).toBe('token-2');
    expect(calls).toHaveLength(2);
  });

  it('keeps tokens per scope set and tenant', async () => {
    const { cred, calls } = credential();
    const reused = reuseTokens(cred);
    await reused.getToken(['https://graph.microsoft.com/.default']);
    await reused.getToken(['https://management.azure.com/.default']);
    await reused.getToken(['https://graph.microsoft.com/.default'], { tenantId: 'other' });
    await reused.getToken(['https://graph.microsoft.com/.default']);
    expect(calls).toHaveLength(3);
  });

  it('always asks the credential for a claims challenge, and never keeps what it answers', async () => {
    const { cred, calls } = credential();
    const reused = reuseTokens(cred);
    await reused.getToken('s');
    expect((await reused.getToken('s', { claims: '{"access_token":{}}' }))!.token).toBe('token-2');
    expect((await reused.getToken('s'))!.token).toBe('token-1');
    expect(calls).toHaveLength(2);
  });

  it('does not keep a failure: the next request asks again', async () => {
    const { cred, calls, failOnce } = credential();
    const reused = reuseTokens(cred);
    failOnce();
    await expect(reused.getToken('s')).rejects.toThrow('Entra is down');
    expect((await reused.getToken('s'))!.token).toBe('token-1');
    expect(calls).toHaveLength(2);
  });

  it('never keeps a token that is short-lived already', async () => {
    const { cred, calls } = credential(4 * MINUTE);
    const reused = reuseTokens(cred);
    await reused.getToken('s');
    await reused.getToken('s');
    expect(calls).toHaveLength(2);
  });

  it('wraps a credential once, so a credential kept per user keeps its tokens across Graph clients', async () => {
    const { cred, calls } = credential();
    expect(reuseTokens(cred)).toBe(reuseTokens(cred));
    await reuseTokens(cred).getToken('s');
    await reuseTokens(cred).getToken('s');
    expect(calls).toHaveLength(1);
  });
});
