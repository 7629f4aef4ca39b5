import type { ApprovalHistoryBlock, ApprovalRiskBlock, TimedLine } from './approval-card';
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

/** The instant as ISO 8601, or null when it is not one. */
function instant(iso: string | null | undefined): string | null {
  return iso && !Number.isNaN(Date.parse(iso)) ? new Date(iso).toISOString() : null;
}

/** The UTC text a card shows for an instant where the viewer's zone cannot be used. */
function utc(iso: string | null): string | null {
  const at = instant(iso);
  return at ? `${at.slice(0, 16).replace('T', ' ')} UTC` : null;
}

function detectionLine(d: RiskDetectionSummary): TimedLine {
  const where = [d.city, d.countryOrRegion].filter(Boolean).join(', ');
  const parts = [
    RISK_EVENT_NAMES[d.riskEventType] ?? d.riskEventType,
    `${d.riskLevel} risk, ${STATE_TEXT[d.riskState] ?? d.riskState}`,
    where ? `${where}${d.ipAddress ? ` (${d.ipAddress})` : ''}` : d.ipAddress,
  ];
  return { text: parts.filter(Boolean).join(' · '), at: instant(d.detectedDateTime) };
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
      facts: [{ title: 'Checked', value: utc(stored.checkedAt) ?? '', at: instant(stored.checkedAt) }],
      detections: [],
    };
  const risk = activeRiskOf(r);
  const facts = [
    { title: 'State', value: STATE_TEXT[r.riskState] ?? r.riskState },
    ...(utc(r.riskLastUpdatedDateTime) ? [{ title: 'Updated', value: utc(r.riskLastUpdatedDateTime)!, at: instant(r.riskLastUpdatedDateTime) }] : []),
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
  if (r.detectionsUnavailable) detections.push({ text: 'Risk detections could not be read' });
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
  const details: TimedLine[] = [];
  if (h.lastActivationAt) details.push({ text: `Last activation ${agoText(h.lastActivationAt, now)}`, at: instant(h.lastActivationAt) });
  for (const d of h.denials) {
    details.push({ text: `Denied${d.by ? ` by ${d.by}` : ''}${d.reason ? `: "${d.reason}"` : ''}`, at: instant(d.at) });
  }
  if (h.denialCount > h.denials.length) details.push({ text: `… and ${h.denialCount - h.denials.length} earlier denials` });
  return { line: historyLine(h, now), firstActivation: h.firstActivation, details };
}
