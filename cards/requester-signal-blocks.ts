import type { ApprovalHistoryBlock, ApprovalRiskBlock } from './approval-card';
import { agoText, historyLine } from '../services/approvals/requester-history';
import type { RequesterSignals } from '../services/approvals/request-display';
import { activeRiskOf, riskLevelText } from '../services/decision/identity-risk';
import type { RiskDetectionSummary } from '../services/integrations/ports';

/**
 * The approval card's identity-risk and history blocks, from the requester signals stored with the request
 * when its card was posted (read by services/jobs/requester-signals.ts).
 */

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
