import type { Logger } from 'pino';
import type { ApprovalRiskBlock, ApprovalHistoryBlock } from '../cards/approval-card';
import { agoText, historyLine, storeHistoryEntries, summarizeHistory, type HistoryEntry, type RequesterHistory } from '../services/approvals/requester-history';
import { activeRiskOf, riskLevelText } from '../services/decision/identity-risk';
import type { GraphActivationHistory } from '../services/graph/activation-history';
import type { ReadBatch } from '../services/graph/read-batch';
import type { IdentityRiskSignals, RiskDetectionSummary, UserRiskRecord } from '../services/integrations/ports';
import type { ApprovalRequestRow, Store } from '../services/store/store';

/** The card is posted without the risk block rather than wait longer for ID Protection. */
const CARD_RISK_TIMEOUT_MS = 5000;

/** What the card shows about the requester, fetched once when the card is posted and kept with the request. */
export interface RequesterSignals {
  /** Absent when ID Protection is not configured; `record` null when it could not be read. */
  identityRisk?: { checkedAt: string; record: UserRiskRecord | null };
  /** `summary` null when the history could not be read. */
  history?: { summary: RequesterHistory | null };
}

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
        this.deps.store.requestHistory(target),
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

/** Graph's riskEventType values an approver may not know by name. */
const RISK_EVENT_NAMES: Readonly<Record<string, string>> = {
  unfamiliarFeatures: 'Unfamiliar sign-in properties',
  anonymizedIPAddress: 'Anonymous IP address',
  leakedCredentials: 'Leaked credentials',
  unlikelyTravel: 'Atypical travel',
  passwordSpray: 'Password spray',
  maliciousIPAddress: 'Malicious IP address',
  mcasImpossibleTravel: 'Impossible travel',
  suspiciousInboxForwarding: 'Suspicious inbox forwarding',
  investigationsThreatIntelligence: 'Microsoft Entra threat intelligence',
  anomalousToken: 'Anomalous token',
  tokenIssuerAnomaly: 'Token issuer anomaly',
  suspiciousBrowser: 'Suspicious browser',
  newCountry: 'New country',
  adminConfirmedUserCompromised: 'Admin confirmed user compromised',
  mfaFraud: 'MFA fraud reported by the user',
  attackerinTheMiddle: 'Attacker in the middle',
};

const STATE_TEXT: Readonly<Record<string, string>> = {
  atRisk: 'at risk',
  confirmedCompromised: 'confirmed compromised',
  remediated: 'remediated',
  dismissed: 'dismissed',
  confirmedSafe: 'confirmed safe',
  none: 'none',
};

function utc(iso: string | null): string | null {
  if (!iso || Number.isNaN(Date.parse(iso))) return null;
  return `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function detectionLine(d: RiskDetectionSummary): string {
  const where = [d.city, d.countryOrRegion].filter(Boolean).join(', ');
  const parts = [
    RISK_EVENT_NAMES[d.riskEventType] ?? d.riskEventType,
    `${d.riskLevel} risk, ${STATE_TEXT[d.riskState] ?? d.riskState}`,
    utc(d.detectedDateTime),
    where ? `${where}${d.ipAddress ? ` (${d.ipAddress})` : ''}` : d.ipAddress,
  ];
  return parts.filter(Boolean).join(' · ');
}

/** The card's identity-risk block; null when ID Protection is not configured. */
export function riskBlockOf(signals: RequesterSignals): ApprovalRiskBlock | null {
  const stored = signals.identityRisk;
  if (!stored) return null;
  const r = stored.record;
  if (!r)
    return {
      tone: 'warning',
      headline: 'Identity risk could not be checked',
      facts: [{ title: 'Checked', value: utc(stored.checkedAt) ?? '' }],
      detections: [],
    };
  const risk = activeRiskOf(r);
  const facts = [
    { title: 'State', value: STATE_TEXT[r.riskState] ?? r.riskState },
    ...(utc(r.riskLastUpdatedDateTime) ? [{ title: 'Updated', value: utc(r.riskLastUpdatedDateTime)! }] : []),
    ...(r.riskDetail && r.riskDetail !== 'none' ? [{ title: 'Detail', value: r.riskDetail }] : []),
  ];
  const detections = risk === 'none' ? [] : r.detections.map(detectionLine);
  if (risk === 'none') {
    const earlier = r.riskState === 'remediated' || r.riskState === 'dismissed' || r.riskState === 'confirmedSafe';
    return {
      tone: 'good',
      headline: earlier ? `No active identity risk (earlier risk ${STATE_TEXT[r.riskState]})` : 'No identity risk in ID Protection',
      facts: earlier ? facts : [],
      detections: [],
    };
  }
  if (r.detectionsUnavailable) detections.push('Risk detections could not be read');
  return {
    tone: risk === 'high' || risk === 'hidden' ? 'attention' : 'warning',
    headline: `Identity risk: ${riskLevelText(risk)} (${STATE_TEXT[r.riskState] ?? r.riskState})`,
    facts,
    detections,
  };
}

/** The card's history line and its details. */
export function historyBlockOf(signals: RequesterSignals, now: Date): ApprovalHistoryBlock | null {
  const stored = signals.history;
  if (!stored) return null;
  const h = stored.summary;
  if (!h) return { line: 'History unavailable', firstActivation: false, details: [] };
  const details: string[] = [];
  if (h.lastActivationAt) details.push(`Last activation: ${utc(h.lastActivationAt)} (${agoText(h.lastActivationAt, now)})`);
  for (const d of h.denials) {
    details.push(`Denied ${utc(d.at)}${d.by ? ` by ${d.by}` : ''}${d.reason ? `: "${d.reason}"` : ''}`);
  }
  if (h.denialCount > h.denials.length) details.push(`… and ${h.denialCount - h.denials.length} earlier denials`);
  return { line: historyLine(h, now), firstActivation: h.firstActivation, details };
}
