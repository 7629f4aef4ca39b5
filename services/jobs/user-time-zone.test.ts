import type { Client } from '@microsoft/microsoft-graph-client';
import type { SimHandle } from '../../sim/server';
import { DEMO_BOT_APP, USER } from '../../sim/seed';
import { graphClientWithToken, startTestSim } from '../../sim/test-support';
import { UserTimeZones } from './user-time-zone';

const DEFAULT_ZONE = 'Europe/Amsterdam';

describe('user time zones from Graph mailbox settings (simulator over HTTPS)', () => {
  let sim: SimHandle;
  const appToken = (roles: string[]) => () =>
    sim.issueToken({ aud: 'https://graph.microsoft.com', idtyp: 'app', roles, appid: DEMO_BOT_APP.clientId, azp: DEMO_BOT_APP.clientId, oid: 'sp-bot' });
  const mailboxCalls = () => sim.state.calls.filter((c) => /\/mailboxSettings$/i.test(c.path)).length;

  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());
  afterEach(() => sim.faults.clear());

  it("maps each seeded user's Windows zone to IANA, and uses the default for a mailbox without one", async () => {
    const zones = new UserTimeZones(graphClientWithToken(sim, appToken(['MailboxSettings.Read'])), DEFAULT_ZONE);
    const got = await Promise.all([USER.alex, USER.megan, USER.adele, USER.isaiah, USER.patti, USER.lynne, USER.diego].map((u) => zones.zoneOf(u)));
    expect(got).toEqual(['America/Los_Angeles', 'Europe/Berlin', 'Europe/London', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney', DEFAULT_ZONE]);
  });

  it('looks up many users a few at a time, each once, and answers every one', async () => {
    const zones = new UserTimeZones(graphClientWithToken(sim, appToken(['MailboxSettings.Read'])), DEFAULT_ZONE);
    const graph = (zones as unknown as { graph: Client }).graph;
    let inFlight = 0;
    let most = 0;
    const api = graph.api.bind(graph);
    jest.spyOn(graph, 'api').mockImplementation((path: string) => {
      const request = api(path);
      const get = request.get.bind(request);
      request.get = async () => {
        most = Math.max(most, ++inFlight);
        try {
          return await get();
        } finally {
          inFlight--;
        }
      };
      return request;
    });
    const before = mailboxCalls();
    const users = [USER.alex, USER.megan, USER.adele, USER.isaiah, USER.patti, USER.lynne, USER.diego, USER.megan];
    const got = await zones.zonesOf(users, 3);
    expect(mailboxCalls() - before).toBe(7);
    expect(most).toBe(3);
    expect(got.get(USER.patti)).toBe('Asia/Kolkata');
    expect(got.get(USER.diego)).toBe(DEFAULT_ZONE);
    expect(got.size).toBe(7);
  });

  it('asks Graph once per user while the answer is fresh, and again after the TTL', async () => {
    let now = 0;
    const zones = new UserTimeZones(graphClientWithToken(sim, appToken(['MailboxSettings.Read'])), DEFAULT_ZONE, { ttlMs: 1000, nowMs: () => now });
    const before = mailboxCalls();
    await Promise.all([zones.zoneOf(USER.megan), zones.zoneOf(USER.megan)]);
    expect(await zones.zoneOf(USER.megan)).toBe('Europe/Berlin');
    expect(mailboxCalls() - before).toBe(1);
    now = 1000;
    await zones.zoneOf(USER.megan);
    expect(mailboxCalls() - before).toBe(2);
  });

  it('falls back to the default when the app lacks MailboxSettings.Read (403) or the user is unknown (404)', async () => {
    const unconsented = new UserTimeZones(graphClientWithToken(sim, appToken(['User.Read.All'])), DEFAULT_ZONE);
    expect(await unconsented.zoneOf(USER.alex)).toBe(DEFAULT_ZONE);
    const zones = new UserTimeZones(graphClientWithToken(sim, appToken(['MailboxSettings.Read'])), DEFAULT_ZONE);
    expect(await zones.zoneOf('00000000-0000-0000-0000-00000000dead')).toBe(DEFAULT_ZONE);
  });

  it('falls back during a Graph failure and asks again once the short failure TTL has passed', async () => {
    let now = 0;
    const zones = new UserTimeZones(graphClientWithToken(sim, appToken(['MailboxSettings.Read'])), DEFAULT_ZONE, { failureTtlMs: 100, nowMs: () => now });
    sim.faults.add({ pathPattern: 'mailboxSettings', status: 500, times: 1 });
    expect(await zones.zoneOf(USER.isaiah)).toBe(DEFAULT_ZONE);
    now = 50;
    expect(await zones.zoneOf(USER.isaiah)).toBe(DEFAULT_ZONE);
    now = 100;
    expect(await zones.zoneOf(USER.isaiah)).toBe('America/New_York');
  });
});

describe('user time zones: the values mailbox settings can hold', () => {
  /** A Graph client that answers every request with this timeZone (the fluent calls are all the code uses). */
  const clientAnswering = (timeZone: unknown): Client => {
    const request = { select: () => request, option: () => request, get: async () => (timeZone === undefined ? {} : { timeZone }) };
    return { api: () => request } as unknown as Client;
  };
  const zoneFor = (timeZone: unknown) => new UserTimeZones(clientAnswering(timeZone), DEFAULT_ZONE).zoneOf('u1');

  it('takes an IANA name as it is (admins may configure that format)', async () => {
    expect(await zoneFor('Asia/Tokyo')).toBe('Asia/Tokyo');
    expect(await zoneFor('America/Argentina/Buenos_Aires')).toBe('America/Argentina/Buenos_Aires');
  });

  it('reads "UTC" as the Windows id it is', async () => {
    expect(await zoneFor('UTC')).toBe('Etc/UTC');
  });

  it('uses the default for unknown names, abbreviations, empty and missing values', async () => {
    for (const v of ['Mars Standard Time', 'EST', '', null, undefined, 42]) expect(await zoneFor(v)).toBe(DEFAULT_ZONE);
  });

  it('refuses an unknown default zone at construction, saying what to use', () => {
    expect(() => new UserTimeZones(clientAnswering('UTC'), 'Central European Time')).toThrow(/IANA name/);
  });
});
