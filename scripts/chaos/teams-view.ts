/**
 * What Teams shows, read from the Bot Connector stand-in and the simulator's message store: which
 * approval card each visible channel message is (by the request id in the card the bot first posted
 * there: a decided card keeps no action data), whether its latest version still has Approve/Deny, and
 * what a personal chat shows. The approvers act on this view and the invariants are computed from it.
 */
import type { FakeConnector, RecordedActivity } from '../../sim/bot-connector';
import type { TeamsMessage } from '../../sim/teams-messages';

export const DECISION_VERBS = ['pim.approve', 'pim.deny'];

/** Every request id named by Action.Execute / Action.Submit data in a card (any verb, the card's refresh too). */
export function requestIdsIn(activity: unknown): string[] {
  const ids = new Set<string>();
  walk(activity, (o) => {
    if (
      (o.type === 'Action.Execute' || o.type === 'Action.Submit') &&
      o.data &&
      typeof o.data === 'object' &&
      typeof (o.data as Record<string, unknown>).requestId === 'string'
    ) {
      ids.add((o.data as Record<string, string>).requestId!);
    }
  });
  return [...ids];
}

/** The Approve and Deny actions a card still offers (Action.Execute, or its Action.Submit fallback). */
export function decisionActions(activity: unknown): Array<{ verb: string; requestId: string | null; version: number | null }> {
  const out: Array<{ verb: string; requestId: string | null; version: number | null }> = [];
  walk(activity, (o) => {
    const data = (o.data && typeof o.data === 'object' ? o.data : {}) as Record<string, unknown>;
    const verb = o.type === 'Action.Execute' ? o.verb : o.type === 'Action.Submit' ? data.verb : undefined;
    if (typeof verb === 'string' && DECISION_VERBS.includes(verb)) {
      out.push({
        verb,
        requestId: typeof data.requestId === 'string' ? data.requestId : null,
        version: data.version === undefined ? null : Number(data.version),
      });
    }
  });
  return out;
}

function walk(node: unknown, visit: (o: Record<string, unknown>) => void): void {
  const stack: unknown[] = [node];
  while (stack.length) {
    const n = stack.pop();
    if (Array.isArray(n)) stack.push(...n);
    else if (n && typeof n === 'object') {
      visit(n as Record<string, unknown>);
      stack.push(...Object.values(n as Record<string, unknown>));
    }
  }
}

/** The text a message shows: its text and every string in its cards. */
export function messageText(activity: Record<string, unknown>): string {
  const parts: string[] = [];
  walk(activity, (o) => {
    for (const [k, v] of Object.entries(o)) if (typeof v === 'string' && (k === 'text' || k === 'title' || k === 'value' || k === 'summary')) parts.push(v);
  });
  return parts.join('\n');
}

export interface CardCopy {
  message: TeamsMessage;
  /** The bot's row id the card was first posted for. */
  requestId: string;
  /** Approve/Deny actions of its latest version. */
  actions: ReturnType<typeof decisionActions>;
}

export class TeamsView {
  /** activity id → the request id of the card first posted with it (from the POST the connector accepted). */
  private readonly postedFor = new Map<string, string | null>();
  private cursor = 0;

  constructor(
    private readonly connector: FakeConnector,
    private readonly channelId: string,
  ) {}

  channelIdOf(): string {
    return this.channelId;
  }

  private index(): void {
    const posts: RecordedActivity[] = this.connector.posts;
    for (; this.cursor < posts.length; this.cursor++) {
      const p = posts[this.cursor]!;
      const ids = requestIdsIn(p.activity);
      this.postedFor.set(p.activityId, ids.length === 1 ? ids[0]! : null);
    }
  }

  /** The request a message was posted for (its first version's card), or null. */
  requestOf(activityId: string): string | null {
    this.index();
    return this.postedFor.get(activityId) ?? null;
  }

  /** Visible root messages in the channel (thread replies are not approval cards), with their request. */
  channelCopies(): { copies: Map<string, CardCopy[]>; unattributed: TeamsMessage[] } {
    this.index();
    const copies = new Map<string, CardCopy[]>();
    const unattributed: TeamsMessage[] = [];
    for (const m of this.connector.messages.visible([this.channelId], { replies: false })) {
      const requestId = this.postedFor.get(m.id) ?? null;
      if (!requestId) {
        unattributed.push(m);
        continue;
      }
      const list = copies.get(requestId) ?? [];
      list.push({ message: m, requestId, actions: decisionActions(m.activity) });
      copies.set(requestId, list);
    }
    return { copies, unattributed };
  }

  /** Every root message ever posted in the channel for a request, deleted ones too (first post time). */
  firstPostedAt(): Map<string, number> {
    this.index();
    const first = new Map<string, number>();
    for (const m of this.connector.messages.visibleOrDeleted([this.channelId])) {
      if (m.replyToId !== null) continue;
      const requestId = this.postedFor.get(m.id);
      if (requestId && !first.has(requestId)) first.set(requestId, m.createdAt);
    }
    return first;
  }

  personalMessages(conversationId: string): TeamsMessage[] {
    return this.connector.visible(conversationId);
  }
}
