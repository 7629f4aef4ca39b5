/**
 * kill -9 of a replica between every two durable steps of an approval: the click (claim, PIM's PATCH,
 * the settled decision, the card update, the requester notice) and the card's post (sent, accepted by
 * Teams, recorded). The surviving replica (same database) finishes the work: PIM holds one decision,
 * credited to the approver who clicked; the channel shows one copy of the card, in its final state; the
 * requester is told once. Everything is checked where PIM and Teams keep it (the simulator and the Bot
 * Connector stand-in), not in the bot's store. The victim is a real child process
 * (test/support/replica-main.ts); the survivor runs in the test with a clock it can move past leases.
 */
import { SIM_TEAMS_APP_MANIFEST_ID } from '../../sim/graph-teamwork';
import { USER } from '../../sim/seed';
import { executeAction } from '../support/card-actions';
import { APP_ID_URI, cardAction, type Harness, pendingRequest, personalMessage, sayHello, simJson, startHarness, teamsUser } from '../support/harness';
import { approvalPatches, isFinal, pimOutcome, shownCards, shownIn, until } from '../support/outcomes';
import { startReplica, type ReplicaProcess } from '../support/replica-process';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';
const DECISION = 'Verified with the CFO by phone';
const ISAIAH_CHAT = 'a:isaiah-crash';
const ADELE_CHAT = 'a:adele-crash';
/** The requester's notice of the outcome. */
const APPROVED_NOTICE = /was approved by Adele Vance/;
/** The approver's message when a click a dead replica left was never recorded in PIM. */
const NOT_RECORDED = /was not recorded in PIM/;
/** Longer than any test runs: a held answer never comes while it matters. */
const FOREVER_MS = 120_000;

type Phase = 'click' | 'post';

interface KillPoint {
  /** Where the victim dies. */
  name: string;
  /** Which work the victim does: an approver's click on the card, or posting the card (PIM's callout goes to it). */
  phase: Phase;
  /** Holds the victim inside the step (a fault in the simulator or the connector), before it acts. */
  arm(h: Harness): Promise<void>;
  /** True once the victim is held inside the step. */
  inside(h: Harness, pimId: string): Promise<boolean>;
  /** What PIM shows when the victim dies: whether the decision had reached it. */
  pimAtKill?: 'PendingApproval' | 'Granted';
  /** The survivor released the claim (PIM never got the decision): the approver is told and clicks again. */
  clickAgain?: boolean;
}

const faultHits = (h: Harness, pathPattern: string) =>
  h.sim.faults
    .describe()
    .filter((f) => f.pathPattern === pathPattern)
    .reduce((n, f) => n + f.hits, 0);
const STEPS_READ = 'roleAssignmentApprovals/[^/]+$';
const ADELE_READ = `/users/${USER.adele}$`;
const pimStatus = async (h: Harness, pimId: string) => (await pimOutcome(h, pimId)).status;

const KILL_POINTS: KillPoint[] = [
  {
    name: 'after the claim, before the PATCH (its read of the approval steps held)',
    phase: 'click',
    arm: async (h) => void (await simJson(h.sim, 'POST', '/_sim/faults', { method: 'GET', pathPattern: STEPS_READ, latencyMs: FOREVER_MS, times: 1 })),
    // The steps read starts as soon as the approver's token is in, alongside the claim: held there, the victim is
    // inside this step once the claim is in the database too.
    inside: async (h, pimId) => faultHits(h, STEPS_READ) === 1 && (await h.bot.store.requests.byPimId(pimId))?.status === 'recording',
    pimAtKill: 'PendingApproval',
    clickAgain: true,
  },
  {
    name: 'during the PATCH (PIM applied it; its answer held)',
    phase: 'click',
    arm: async (h) =>
      void (await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', answerAfterMs: FOREVER_MS, times: 1 })),
    inside: async (h, pimId) => (await pimStatus(h, pimId)) === 'Granted',
    pimAtKill: 'Granted',
  },
  {
    name: 'after PIM answered the PATCH, before the claim is settled (its read of the approver held)',
    phase: 'click',
    arm: async (h) => void (await simJson(h.sim, 'POST', '/_sim/faults', { method: 'GET', pathPattern: ADELE_READ, latencyMs: FOREVER_MS, times: 1 })),
    inside: async (h, pimId) => faultHits(h, ADELE_READ) === 1 && (await pimStatus(h, pimId)) === 'Granted',
    pimAtKill: 'Granted',
  },
  {
    name: 'while the card update (PUT) gets no answer',
    phase: 'click',
    arm: async (h) => h.connector.hangNext('PUT', 1),
    inside: async (h) => h.connector.hung === 1,
    pimAtKill: 'Granted',
  },
  {
    name: 'while the card update (PUT) was carried out and its answer is late',
    phase: 'click',
    arm: async (h) => h.connector.slowNext('PUT', FOREVER_MS, 1),
    inside: async (h) => h.connector.slowed === 1,
    pimAtKill: 'Granted',
  },
  {
    name: 'while the requester notice (POST) gets no answer',
    phase: 'click',
    arm: async (h) => h.connector.hangNext('POST', 1),
    inside: async (h) => h.connector.hung === 1,
    pimAtKill: 'Granted',
  },
  {
    name: 'between sending the requester notice and recording it (Teams accepted it; the answer never came)',
    phase: 'click',
    arm: async (h) => h.connector.slowNext('POST', FOREVER_MS, 1),
    inside: async (h) => h.connector.slowed === 1 && shownIn(h, ISAIAH_CHAT, APPROVED_NOTICE).length === 1,
    pimAtKill: 'Granted',
  },
  {
    name: 'while the approval card post (POST) gets no answer',
    phase: 'post',
    arm: async (h) => h.connector.hangNext('POST', 1),
    inside: async (h) => h.connector.hung === 1,
  },
  {
    name: 'between sending the approval card and recording it (Teams accepted it; the answer never came)',
    phase: 'post',
    arm: async (h) => h.connector.slowNext('POST', FOREVER_MS, 1),
    inside: async (h) => h.connector.slowed === 1 && shownCards(h).length === 1,
  },
];

describe('a replica killed between two durable steps of an approval', () => {
  let h: Harness;
  let victim: ReplicaProcess | undefined;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    // The manifest id lets the outbox find the bot's 1:1 chats in Graph (a notice whose answer was lost is looked for there).
    h = await startHarness({ TEAMS_APP_MANIFEST_ID: SIM_TEAMS_APP_MANIFEST_ID }, { now, sweepIntervalMs: 600_000 });
    // The survivor sends only when the test drains it: its own outbox loop would race the victim for the
    // rows the victim is meant to die holding.
    await h.bot.outbox.stop();
    while ((await h.bot.scheduler.runDue()) > 0);
    // The requester and the approver have a chat with the bot: the outcome and any "not recorded" reach them.
    await sayHello(h, USER.isaiah, ISAIAH_CHAT);
    await sayHello(h, USER.adele, ADELE_CHAT);
  });
  afterEach(async () => {
    await victim?.kill();
    victim = undefined;
    await h.close();
  });

  /**
   * The survivor's sweeps and sends, each round past every lease the victim held (claim: 2 min, outbox row:
   * 1 min) and past the outbox's second look for a late copy of what it sent again (1 min).
   */
  async function survivorFinishes(rounds = 1): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      offsetMs += 3 * 60_000;
      for (let pass = 0; pass < 2; pass++) {
        await h.bot.delivery.sweep();
        await h.bot.delivery.drain();
      }
    }
  }

  /** Adele acts on the card as the channel shows it (its data: request id and version). */
  async function approveShownCard(botUrl: string): Promise<{ httpStatus: number; body: any }> {
    const [card] = shownCards(h);
    const approve = executeAction(card!.card, 'pim.approve');
    return cardAction(botUrl, teamsUser(USER.adele), 'pim.approve', { ...approve.data, decisionJustification: DECISION });
  }

  it.each(KILL_POINTS.map((k) => [k.name, k] as const))(
    '%s: the survivor finishes; one decision, one card in its final state, one notice',
    async (_name, kill) => {
      let pimId: string;
      if (kill.phase === 'click') {
        ({ pimId } = await pendingRequest(h, { justification: GOOD, durationMinutes: 60 }));
        expect(shownCards(h)).toHaveLength(1);
        victim = await startReplica(h.env);
        await kill.arm(h);
        // The click lands on the victim, which may die before it answers.
        void approveShownCard(victim.url).catch(() => undefined);
      } else {
        victim = await startReplica(h.env);
        // PIM's callout goes to the victim, which evaluates the request and posts its card.
        h.sim.setCustomExtension({ targetUrl: `${victim.url}/api/pim/evaluate`, resourceId: APP_ID_URI, timeoutMs: 5000, maximumRetries: 1 });
        await kill.arm(h);
        const created = await simJson(h.sim, 'POST', '/_sim/requests', {
          principal: USER.isaiah,
          role: 'User Administrator',
          justification: GOOD,
          durationMinutes: 60,
        });
        expect(created.body.status).toBe('PendingApproval');
        pimId = created.body.id as string;
      }
      await until(`the victim is held ${kill.name}`, () => kill.inside(h, pimId));
      await victim.kill();
      if (kill.pimAtKill) expect(await pimStatus(h, pimId)).toBe(kill.pimAtKill);

      await survivorFinishes();
      if (kill.phase === 'post') {
        // One copy of the card is shown, whoever sent it; the approver decides on it through the survivor.
        expect(shownCards(h)).toHaveLength(1);
        expect((await approveShownCard(h.bot.url)).body.statusCode).toBe(200);
        await h.bot.delivery.drain();
      }
      if (kill.clickAgain) {
        // PIM never got the click: the approver is told so, once, and the card asks again.
        expect(shownIn(h, ADELE_CHAT, NOT_RECORDED)).toHaveLength(1);
        expect(shownCards(h).map((c) => c.text.match(NOT_RECORDED) !== null && !isFinal(c))).toEqual([true]);
        expect((await approveShownCard(h.bot.url)).body.statusCode).toBe(200);
        await h.bot.delivery.drain();
      }
      // Everything owed is done, and nothing more happens however long the survivor runs.
      await survivorFinishes(3);

      // PIM: one decision, Adele's, from one PATCH (the victim's, answered or not, or the survivor's).
      const pim = await pimOutcome(h, pimId);
      expect(pim).toEqual({ status: 'Granted', decisions: [{ reviewResult: 'Approve', reviewedBy: USER.adele, justification: DECISION }] });
      const patches = await approvalPatches(h);
      expect(patches).toHaveLength(1);
      expect(patches[0]!.oid).toBe(USER.adele);
      // Teams: one card in the channel, closed and naming the decider; one notice to the requester.
      const cards = shownCards(h);
      expect(cards).toHaveLength(1);
      expect(isFinal(cards[0]!)).toBe(true);
      expect(cards[0]!.text).toContain('Adele Vance');
      expect(shownIn(h, ISAIAH_CHAT, APPROVED_NOTICE)).toHaveLength(1);
      // The approver hears "not recorded" only where PIM really did not get the click.
      expect(shownIn(h, ADELE_CHAT, NOT_RECORDED)).toHaveLength(kill.clickAgain ? 1 : 0);
    },
    150_000,
  );
});

describe('a replica killed in the middle of a digest', () => {
  let h: Harness;
  let victim: ReplicaProcess | undefined;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({}, { now });
    while ((await h.bot.scheduler.runDue()) > 0);
  });
  afterEach(async () => {
    await victim?.kill();
    victim = undefined;
    await h.close();
  });

  it('the survivor sends it once the job’s lease runs out, and only once', async () => {
    // Whatever digests the start-up tick found due at this time of day are not this test's.
    await h.bot.scheduler.cancelPrefix('digest:user:');
    await personalMessage(h, USER.alex, 'hi');
    // Tomorrow 09:30 in Los Angeles on the survivor's clock: its tick schedules Alex's digest for tomorrow.
    const today = new Date();
    offsetMs = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 17, 30) - Date.now();
    await h.bot.digests.tick(now());
    const job = (await h.bot.store.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', 'like', `digest:user:${USER.alex}:%`)
      .where('status', '=', 'pending')
      .executeTakeFirst())!;
    expect(job).toBeDefined();
    h.connector.hangNext('POST', 1);
    // The victim runs due jobs on its own (real clock, every 200 ms): make the digest due for it now.
    victim = await startReplica(h.env, { REPLICA_JOBS_MS: '200' });
    await h.bot.store.db.updateTable('jobs').set({ due_at: new Date().toISOString() }).where('id', '=', job.id).execute();
    await until('the victim is sending the digest', () => h.connector.hung === 1);
    await victim.kill();
    expect((await h.bot.scheduler.get(job.id))!).toMatchObject({ status: 'running' });
    const digests = () => h.connector.visible('a:user-id-0-personal').filter((m) => JSON.stringify(m.activity).includes('digest.extend'));
    expect(digests()).toHaveLength(0);

    offsetMs = 2 * 60_000; // after the victim's lease (one minute) has run out
    expect(await h.bot.scheduler.runDue()).toBe(1);
    expect(digests()).toHaveLength(1);
    expect((await h.bot.scheduler.get(job.id))!).toMatchObject({ status: 'done', attempts: 2 });
    expect(await h.bot.scheduler.runDue()).toBe(0);
    expect(digests()).toHaveLength(1);
  });
});
