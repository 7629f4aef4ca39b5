/**
 * The people of the chaos run. Requesters say hello to the bot in their personal chat (so it can tell them
 * outcomes) and file PIM activations in the simulator (PIM calls the decision endpoint through the
 * balancer). Approvers watch the approver channel as Teams shows it and click Approve or Deny on a card
 * once it shows, sometimes on both replicas at once; when a card still (or again) offers buttons after
 * their click was answered or lost, they click again, as a person would.
 */
import { randomUUID } from 'node:crypto';
import { DEMO_BOT_APP, DEMO_TENANT_ID, seedTenant } from '../../sim/seed';
import type { SimHandle } from '../../sim/server';
import type { FakeConnector } from '../../sim/bot-connector';
import type { Balancer, Backend } from './balancer';
import type { ChaosProfile } from './profiles';
import type { Click, PlannedRequest } from './tenant';
import { JUSTIFICATION, personalConversation } from './tenant';
import type { TeamsView } from './teams-view';

export function seededUser(id: string) {
  const u = seedTenant.users.find((x) => x.id === id);
  if (!u) throw new Error(`no seeded user ${id}`);
  return u;
}

export interface Filed {
  plan: PlannedRequest;
  filedAt: number;
  answeredAt: number | null;
  pimId: string | null;
  /** PIM's status when the filing answered (PendingApproval once the endpoint said Approved). */
  status: string | null;
  error: string | null;
}

/** POST /_sim/requests: PIM files the activation and calls the custom extension before it answers. */
export async function fileRequest(sim: SimHandle, plan: PlannedRequest, filed: Filed[]): Promise<Filed> {
  const f: Filed = { plan, filedAt: Date.now(), answeredAt: null, pimId: null, status: null, error: null };
  filed.push(f);
  try {
    const res = await fetch(`${sim.url}/_sim/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ principal: plan.requesterId, role: plan.roleName, justification: JUSTIFICATION, durationMinutes: 60 }),
    });
    const body = (await res.json()) as { id?: string; status?: string; error?: { message?: string } };
    f.answeredAt = Date.now();
    if (res.status !== 201) f.error = `HTTP ${res.status}: ${body.error?.message ?? ''}`.slice(0, 200);
    f.pimId = body.id ?? null;
    f.status = body.status ?? null;
  } catch (err) {
    f.answeredAt = Date.now();
    f.error = (err as Error).message.slice(0, 200);
  }
  return f;
}

/** A requester's first message in their personal chat: the bot stores the conversation to tell them outcomes later. */
export async function sayHello(balancerUrl: string, serviceUrl: string, connector: FakeConnector, userId: string): Promise<void> {
  const u = seededUser(userId);
  const conversationId = personalConversation(u.teamsUserId);
  connector.registerPersonalChat(conversationId, userId);
  const res = await fetch(`${balancerUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'message',
      id: `m-${randomUUID()}`,
      text: 'hi',
      channelId: 'msteams',
      serviceUrl,
      from: { id: u.teamsUserId, name: u.displayName, aadObjectId: u.id },
      recipient: { id: '28:bot', name: 'PIM Approvals' },
      conversation: { id: conversationId, conversationType: 'personal', tenantId: DEMO_TENANT_ID },
    }),
  });
  await res.text();
  if (res.status !== 200) throw new Error(`the bot answered ${res.status} to a hello from ${u.displayName}`);
}

/** One click as the driver sent it and how it ended. */
export interface ClickRecord {
  pimId: string;
  requestId: string;
  approverId: string;
  verb: Click['verb'];
  /** first: the planned first click; double: the second of two at once; again: after the card kept buttons; fault: a fault's click. */
  kind: 'first' | 'double' | 'again' | 'fault';
  startedAt: number;
  endedAt: number | null;
  /** The replica process the balancer sent it to (null: it never reached one). */
  replica: string | null;
  pid: number | null;
  httpStatus: number | null;
  /** The invoke response's statusCode. */
  statusCode: number | null;
  /** The answered card still offers Approve/Deny. */
  answeredWithButtons: boolean | null;
  /** The card's state line as answered (first 120 characters), or the error. */
  note: string;
}

interface Desk {
  plan: PlannedRequest;
  pimId: string;
  requestId: string | null;
  firstSeenAt: number | null;
  /** The clicks the approvers intend (the plan's, or a fault's). */
  clicks: Click[];
  clicked: number;
  inFlight: number;
  lastEndedAt: number;
  /** The last click was answered with a card without buttons (decided, or being recorded): the approver waits. */
  settled: boolean;
  /** The card version the last click was made on: a newer card with buttons (a released claim) is clicked again. */
  versionClicked: number;
  takenByFault: boolean;
}

/**
 * The approvers at work: every `tickMs` they look at the channel; a card of a request they mean to decide
 * gets its first click `clickDelayMs` after it showed, and another (see wouldClickAgain) when it still offers
 * buttons `reclickAfterMs` after their last click ended unanswered or unsettled, or offers them again on a
 * newer version.
 */
export class Approvers {
  readonly clicks: ClickRecord[] = [];
  private readonly desks = new Map<string, Desk>();
  private readonly routes = new Map<string, Backend>();
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** pim id → the bot's row id, from the database (the card carries the row id). */
  rowIds = new Map<string, string>();

  constructor(
    private readonly balancer: Balancer,
    private readonly serviceUrl: string,
    private readonly view: TeamsView,
    private readonly profile: ChaosProfile,
    private readonly loadRowIds: () => Promise<Map<string, string>>,
  ) {
    balancer.onRoute = (op, backend) => this.routes.set(op, backend);
  }

  /** A filed request the approvers will look out for. */
  watch(f: Filed): void {
    if (!f.pimId || f.status !== 'PendingApproval') return;
    this.desks.set(f.pimId, {
      plan: f.plan,
      pimId: f.pimId,
      requestId: null,
      firstSeenAt: null,
      clicks: f.plan.clicks,
      clicked: 0,
      inFlight: 0,
      lastEndedAt: 0,
      settled: false,
      versionClicked: -1,
      takenByFault: false,
    });
  }

  start(tickMs = 250): void {
    let busy = false;
    let lastRows = 0;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        if (Date.now() - lastRows > 1000) {
          this.rowIds = await this.loadRowIds().catch(() => this.rowIds);
          lastRows = Date.now();
        }
        this.tick();
      })().finally(() => {
        busy = false;
      });
    }, tickMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
  }

  private tick(): void {
    const now = Date.now();
    const { copies } = this.view.channelCopies();
    for (const desk of this.desks.values()) {
      if (desk.clicks.length === 0 || desk.takenByFault) continue;
      const requestId = desk.requestId ?? this.rowIds.get(desk.pimId) ?? null;
      if (!requestId) continue;
      desk.requestId = requestId;
      const list = copies.get(requestId) ?? [];
      if (list.length === 0) continue;
      desk.firstSeenAt ??= now;
      const withButtons = list.find((c) => c.actions.length > 0);
      if (!withButtons || desk.inFlight > 0 || desk.clicked >= this.profile.maxClicksPerRequest) continue;
      const version = withButtons.actions[0]?.version ?? 0;
      if (desk.clicked === 0) {
        if (now - desk.firstSeenAt < desk.plan.clickDelayMs) continue;
        // The planned click: one, or two at once pinned to both replicas.
        const pins = desk.clicks.length > 1 ? ['A', 'B'] : [undefined];
        desk.clicks.forEach((c, i) => {
          this.send(desk, requestId, version, c, i === 0 ? 'first' : 'double', pins[i]);
        });
      } else if (this.wouldClickAgain(desk, version, now)) {
        this.send(desk, requestId, version, desk.clicks[0]!, 'again', undefined);
      }
    }
  }

  /**
   * An approver clicks again when the card in the channel still offers buttons and either their last click
   * was not answered with a settled card (no answer, an error, or buttons again: "try again") or the card
   * has changed since (a released claim brings the buttons back on a newer version).
   */
  private wouldClickAgain(desk: Desk, version: number, now: number): boolean {
    if (now - desk.lastEndedAt < this.profile.reclickAfterMs) return false;
    return !desk.settled || version > desk.versionClicked;
  }

  /**
   * A fault takes over a request's first click (kill-patch-held): a request whose card shows buttons and
   * that nobody clicked yet. Returns its desk's details, or null when none is ready.
   */
  takeForFault(): { pimId: string; requestId: string; version: number; click: Click } | null {
    const { copies } = this.view.channelCopies();
    for (const desk of this.desks.values()) {
      if (desk.clicks.length === 0 || desk.clicked > 0 || desk.inFlight > 0 || desk.takenByFault) continue;
      const requestId = this.rowIds.get(desk.pimId);
      const card = requestId ? (copies.get(requestId) ?? []).find((c) => c.actions.length > 0) : undefined;
      if (!requestId || !card) continue;
      desk.takenByFault = true;
      desk.requestId = requestId;
      desk.clicks = [desk.clicks[0]!];
      return { pimId: desk.pimId, requestId, version: card.actions[0]?.version ?? 0, click: desk.clicks[0]! };
    }
    return null;
  }

  /** The fault's click (through the balancer, with an op id so the driver learns the process), then the desk resumes. */
  async faultClick(pimId: string, requestId: string, version: number, click: Click): Promise<{ record: ClickRecord; routed: Promise<Backend | null> }> {
    const desk = this.desks.get(pimId)!;
    const op = randomUUID();
    const routed = new Promise<Backend | null>((resolve) => {
      const end = Date.now() + 10_000;
      const poll = () => {
        const b = this.routes.get(op);
        if (b) return resolve(b);
        if (Date.now() > end) return resolve(null);
        setTimeout(poll, 10);
      };
      poll();
    });
    const record = this.send(desk, requestId, version, click, 'fault', undefined, op);
    desk.takenByFault = false;
    return { record, routed };
  }

  private send(desk: Desk, requestId: string, version: number, click: Click, kind: ClickRecord['kind'], pin: string | undefined, opId?: string): ClickRecord {
    const op = opId ?? randomUUID();
    const rec: ClickRecord = {
      pimId: desk.pimId,
      requestId,
      approverId: click.approverId,
      verb: click.verb,
      kind,
      startedAt: Date.now(),
      endedAt: null,
      replica: null,
      pid: null,
      httpStatus: null,
      statusCode: null,
      answeredWithButtons: null,
      note: '',
    };
    this.clicks.push(rec);
    desk.clicked += 1;
    desk.inFlight += 1;
    desk.versionClicked = Math.max(desk.versionClicked, version);
    const u = seededUser(click.approverId);
    const activity = {
      type: 'invoke',
      name: 'adaptiveCard/action',
      id: `invoke-${randomUUID()}`,
      channelId: 'msteams',
      serviceUrl: this.serviceUrl,
      from: { id: u.teamsUserId, name: u.displayName, aadObjectId: u.id },
      recipient: { id: `28:${DEMO_BOT_APP.clientId}`, name: 'PIM Approvals' },
      conversation: { id: this.view.channelIdOf(), isGroup: true, conversationType: 'channel', tenantId: DEMO_TENANT_ID },
      channelData: { tenant: { id: DEMO_TENANT_ID } },
      value: {
        action: {
          type: 'Action.Execute',
          verb: click.verb,
          data: { requestId, version, decisionJustification: `Checked with ${seededUser(desk.plan.requesterId).displayName} by phone (chaos)` },
        },
        trigger: 'manual',
      },
    };
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-chaos-op': op };
    if (pin) headers['x-chaos-pin'] = pin;
    const p = (async () => {
      try {
        // Teams gives an invoke about 15 s; a little more here, so a slow answer is seen rather than cut.
        const res = await fetch(`${this.balancer.url}/api/messages`, {
          method: 'POST',
          headers,
          body: JSON.stringify(activity),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        rec.httpStatus = res.status;
        const body = text ? (JSON.parse(text) as { statusCode?: number; value?: unknown }) : null;
        rec.statusCode = body?.statusCode ?? null;
        const card = body?.value;
        rec.answeredWithButtons = card ? JSON.stringify(card).includes('"pim.approve"') : null;
        rec.note = stateNote(card) || text.slice(0, 120);
      } catch (err) {
        rec.note = `error: ${(err as Error).message.slice(0, 120)}`;
      } finally {
        const b = this.routes.get(op);
        this.routes.delete(op);
        if (b) {
          rec.replica = b.name;
          rec.pid = b.pid;
        }
        rec.endedAt = Date.now();
        desk.inFlight -= 1;
        desk.lastEndedAt = rec.endedAt;
        desk.settled = rec.httpStatus === 200 && rec.statusCode === 200 && rec.answeredWithButtons === false;
      }
    })();
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return rec;
  }

  /** Requests the approvers mean to decide whose card still offers buttons, or has a click in flight. */
  unsettled(): { buttons: string[]; inFlight: string[]; notSeen: string[] } {
    const { copies } = this.view.channelCopies();
    const out = { buttons: [] as string[], inFlight: [] as string[], notSeen: [] as string[] };
    for (const desk of this.desks.values()) {
      if (desk.clicks.length === 0) continue;
      if (desk.inFlight > 0) out.inFlight.push(desk.pimId);
      const requestId = this.rowIds.get(desk.pimId);
      const list = requestId ? (copies.get(requestId) ?? []) : [];
      const card = list.find((c) => c.actions.length > 0);
      if (list.length === 0) out.notSeen.push(desk.pimId);
      else if (
        card &&
        desk.clicked < this.profile.maxClicksPerRequest &&
        (desk.clicked === 0 || !desk.settled || (card.actions[0]?.version ?? 0) > desk.versionClicked)
      )
        out.buttons.push(desk.pimId);
    }
    return out;
  }

  /** The clickers of a request (approver → verb), from every click sent. */
  clickersOf(pimId: string): Map<string, Click['verb']> {
    const m = new Map<string, Click['verb']>();
    for (const c of this.clicks) if (c.pimId === pimId && !m.has(c.approverId)) m.set(c.approverId, c.verb);
    return m;
  }

  intendsToClick(pimId: string): boolean {
    return (this.desks.get(pimId)?.clicks.length ?? 0) > 0;
  }
}

/** The answered card's status line ("Approved by …", "Recording …", a message), for the click log. */
function stateNote(card: unknown): string {
  const text = JSON.stringify(card ?? '');
  for (const s of ['Recording', 'Approved by', 'Denied by', 'already', 'did not answer', 'not recorded', 'Approve or deny below']) {
    const i = text.indexOf(s);
    if (i >= 0) return text.slice(i, i + 120).split('"')[0]!;
  }
  return '';
}
