import type { Client } from '@microsoft/microsoft-graph-client';
import { toGraphCallError } from '../graph/graph-errors';
import { IntegrationUnavailable, type IdentityRiskSignals, type RiskDetectionSummary, type UserRiskLevel, type UserRiskRecord } from './ports';

/**
 * One ID Protection read. The Graph client's retry handler honours Retry-After inside this; the
 * decision budget's signal cancels it sooner.
 */
const GRAPH_RISK_READ_TIMEOUT_MS = 2000;

const LEVELS: readonly UserRiskLevel[] = ['low', 'medium', 'high', 'hidden', 'none', 'unknownFutureValue'];

interface GraphRiskyUser {
  id?: string;
  riskLevel?: string | null;
  riskState?: string | null;
  riskDetail?: string | null;
  riskLastUpdatedDateTime?: string | null;
}

interface GraphRiskDetection {
  riskEventType?: string | null;
  riskLevel?: string | null;
  riskState?: string | null;
  detectedDateTime?: string | null;
  ipAddress?: string | null;
  location?: { city?: string | null; countryOrRegion?: string | null } | null;
  activity?: string | null;
  detectionTimingType?: string | null;
}

export interface GraphIdentityRiskOptions {
  /** How many recent risk detections to read for the card (0: none). */
  detections: number;
}

/**
 * The requester's user risk from Microsoft Entra ID Protection through Graph, app-only:
 * `GET /identityProtection/riskyUsers/{id}` (IdentityRiskyUser.Read.All; a user ID Protection never
 * rated has no record and Graph answers 404, read here as no risk) and the latest
 * `GET /identityProtection/riskDetections?$filter=userId eq '{id}'` (IdentityRiskEvent.Read.All), in
 * parallel. Both need an Entra ID P1/P2 licence. A failed risky-user read rejects: a risk that could not
 * be read is never reported as none. Failed detections only leave the card without them.
 */
export class GraphIdentityRisk implements IdentityRiskSignals {
  constructor(
    private readonly client: Client,
    private readonly options: GraphIdentityRiskOptions = { detections: 3 },
  ) {}

  async userRisk(userId: string, signal: AbortSignal): Promise<UserRiskRecord> {
    const within = AbortSignal.any([signal, AbortSignal.timeout(GRAPH_RISK_READ_TIMEOUT_MS)]);
    const [user, detections] = await Promise.all([this.riskyUser(userId, within, signal), this.detections(userId, within)]);
    return { ...user, detections: detections ?? [], detectionsUnavailable: detections === null };
  }

  private async riskyUser(userId: string, within: AbortSignal, budget: AbortSignal): Promise<Omit<UserRiskRecord, 'detections' | 'detectionsUnavailable'>> {
    let u: GraphRiskyUser;
    try {
      u = await this.client
        .api(`/identityProtection/riskyUsers/${encodeURIComponent(userId)}`)
        .option('signal', within)
        .get();
    } catch (err) {
      if (budget.aborted)
        throw new IntegrationUnavailable(
          'Microsoft Graph',
          'ID Protection did not answer in time while reading the user risk (the decision budget ran out).',
          'no answer within the decision budget',
        );
      const e = toGraphCallError(err, 'Reading the user risk');
      if (e.status === 404) return { riskLevel: 'none', riskState: 'none', riskDetail: null, riskLastUpdatedDateTime: null };
      throw new IntegrationUnavailable('Microsoft Graph', e.message, e.status ? `HTTP ${e.status}` : 'no answer');
    }
    // An answer without the two fields the decision reads is no answer: never "no risk".
    if (typeof u !== 'object' || u === null || typeof u.riskLevel !== 'string' || typeof u.riskState !== 'string') {
      throw new IntegrationUnavailable(
        'Microsoft Graph',
        'ID Protection answered without riskLevel and riskState while reading the user risk.',
        'fields riskLevel/riskState missing',
      );
    }
    const level = LEVELS.find((l) => l === u.riskLevel) ?? 'unknownFutureValue';
    return { riskLevel: level, riskState: u.riskState, riskDetail: u.riskDetail ?? null, riskLastUpdatedDateTime: u.riskLastUpdatedDateTime ?? null };
  }

  /** Null when they could not be read. */
  private async detections(userId: string, within: AbortSignal): Promise<RiskDetectionSummary[] | null> {
    if (this.options.detections <= 0) return [];
    try {
      const page = (await this.client
        .api('/identityProtection/riskDetections')
        .filter(`userId eq '${userId.replace(/'/g, "''")}'`)
        .orderby('detectedDateTime desc')
        .top(this.options.detections)
        .option('signal', within)
        .get()) as { value?: GraphRiskDetection[] };
      return (page.value ?? [])
        .map(toSummary)
        .sort((a, b) => Date.parse(b.detectedDateTime ?? '') - Date.parse(a.detectedDateTime ?? '') || 0)
        .slice(0, this.options.detections);
    } catch {
      return null;
    }
  }
}

function toSummary(d: GraphRiskDetection): RiskDetectionSummary {
  return {
    riskEventType: d.riskEventType ?? 'unknown',
    riskLevel: d.riskLevel ?? 'unknown',
    riskState: d.riskState ?? 'unknown',
    detectedDateTime: d.detectedDateTime ?? null,
    ipAddress: d.ipAddress ?? null,
    city: d.location?.city ?? null,
    countryOrRegion: d.location?.countryOrRegion ?? null,
    activity: d.activity ?? null,
    detectionTimingType: d.detectionTimingType ?? null,
  };
}
