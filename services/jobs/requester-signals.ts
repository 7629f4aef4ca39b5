import type { Logger } from 'pino';
import type { RequesterSignals } from '../approvals/request-display';
import { storeHistoryEntries, summarizeHistory, type HistoryEntry } from '../approvals/requester-history';
import type { GraphActivationHistory } from '../graph/activation-history';
import type { ReadBatch } from '../graph/read-batch';
import type { IdentityRiskSignals } from '../integrations/ports';
import type { ApprovalRequestRow, Store } from '../store/store';

/** The card is posted without the risk block rather than wait longer for ID Protection. */
const CARD_RISK_TIMEOUT_MS = 5000;

export type { RequesterSignals } from '../approvals/request-display';

export interface RequesterSignalsDeps {
  store: Store;
  /** PIM's request history through Graph (app-only); null reads our store alone. */
  pimHistory: Pick<GraphActivationHistory, 'entries'> | null;
  identityRisk?: IdentityRiskSignals;
  log: Logger;
  now?: () => Date;
}

/**
 * Reads the requester's identity risk and history for an approval card, each on its own: a failed read
 * leaves "could not be checked" / "history unavailable" on the card and never holds the card back.
 */
export class RequesterSignalsReader {
  constructor(private readonly deps: RequesterSignalsDeps) {}

  /** `via`: a Graph read batch the PIM history read may travel in, with the card's other reads. */
  async read(row: ApprovalRequestRow, via?: ReadBatch): Promise<RequesterSignals> {
    const now = this.deps.now?.() ?? new Date();
    const [risk, history] = await Promise.all([this.risk(row, now), this.history(row, now, via)]);
    return { ...(risk ? { identityRisk: risk } : {}), history };
  }

  private async risk(row: ApprovalRequestRow, now: Date): Promise<RequesterSignals['identityRisk']> {
    if (!this.deps.identityRisk) return undefined;
    try {
      const record = await this.deps.identityRisk.userRisk(row.principal_id, AbortSignal.timeout(CARD_RISK_TIMEOUT_MS));
      return { checkedAt: now.toISOString(), record };
    } catch (err) {
      this.deps.log.warn({ requestId: row.id, err: { message: (err as Error).message } }, 'identity risk for the card could not be read');
      return { checkedAt: now.toISOString(), record: null };
    }
  }

  private async history(row: ApprovalRequestRow, now: Date, via?: ReadBatch): Promise<NonNullable<RequesterSignals['history']>> {
    const target = { kind: row.kind, principalId: row.principal_id, roleDefinitionId: row.role_definition_id, scope: row.scope };
    try {
      const [stored, pim] = await Promise.all([
        this.deps.store.requests.history(target),
        this.deps.pimHistory ? this.deps.pimHistory.entries(target, undefined, via) : Promise.resolve([] as HistoryEntry[]),
      ]);
      const entries = [...pim, ...storeHistoryEntries(stored.approvals, stored.evaluations)];
      // The request on the card is not its own history: neither its PIM id nor (Azure) its evaluation's key.
      const current = new Set([
        row.pim_request_id.toLowerCase(),
        ...stored.evaluations.filter((e) => e.evaluation_id === row.evaluation_id).map((e) => e.request_key.toLowerCase()),
      ]);
      return {
        summary: summarizeHistory(
          entries.filter((e) => !current.has(e.key.toLowerCase())),
          { now },
        ),
      };
    } catch (err) {
      this.deps.log.warn({ requestId: row.id, err: { message: (err as Error).message } }, 'requester history for the card could not be read');
      return { summary: null };
    }
  }
}
