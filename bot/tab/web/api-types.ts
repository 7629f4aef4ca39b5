/** The shapes of the tab's JSON API (bot/http/tab-routes.ts), as the browser reads them. */

export interface Person {
  id: string;
  name: string;
  upn: string;
}

export interface Ticket {
  system: string;
  number: string;
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
  request?: unknown;
}

export interface Me {
  user: Person;
  isAdmin: boolean;
  timeZone: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Approval {
  requestId: string;
  version: number;
  kind: string;
  role: string;
  roleDefinitionId: string;
  scope: string;
  requester: Person & { jobTitle?: string | null; department?: string | null };
  justification: string;
  duration: string;
  durationMinutes: number;
  ticket: Ticket | null;
  createdAt: string;
  expiresAt: string;
  riskFlags: string[];
  reasons: string[];
  checks: CheckLine[];
  identityRisk: RiskBlock | null;
  history: HistoryBlock | null;
  approverNames: string[];
}

/** A pre-approval check as the card lists it. */
export interface CheckLine {
  result: 'pass' | 'fail' | 'unavailable';
  onFail: 'deny' | 'review';
  /** The result in the card's words, a symbol first: "✓ Passed", "⚠ Flagged", "✗ Failed", "? Could not be completed". */
  word: string;
  /** The check's plain name: "Business hours". */
  title: string;
  summary: string;
}

/** A line with the instant it is about (shown in the reader's zone). */
export interface TimedLine {
  text: string;
  at?: string | null;
}

/** The card's identity-risk block, in its words. */
export interface RiskBlock {
  tone: 'attention' | 'warning' | 'good';
  headline: string;
  /** `at`: the fact is an instant (`value` is its UTC text). */
  facts: Array<{ title: string; value: string; at?: string | null }>;
  detections: TimedLine[];
}

/** The card's history of the requester with the role. */
export interface HistoryBlock {
  line: string;
  firstActivation: boolean;
  details: TimedLine[];
}

export type RequestStatus = 'pending' | 'recording' | 'approved' | 'denied' | 'expired' | 'cancelled' | (string & {});

export interface MyRequest {
  requestId: string;
  version: number;
  kind: string;
  role: string;
  roleDefinitionId: string;
  scope: string;
  status: RequestStatus;
  justification: string;
  duration: string;
  durationMinutes: number | null;
  ticket: Ticket | null;
  createdAt: string;
  expiresAt: string;
  decidedBy: Person | null;
  decidedAt: string | null;
  decisionJustification: string | null;
}

export interface DecisionAnswer {
  result: string;
  message: string;
  request?: Partial<MyRequest> & { requestId?: string };
}

export interface ActionAnswer {
  result: string;
  message: string;
  requestId?: string;
}

export type AccessKind = 'entraRole' | 'group' | 'azureResource';

export interface AccessItem {
  key: string;
  kind: AccessKind;
  name: string;
  scope: string;
  scopeName: string;
  memberType?: string;
  start: string | null;
  end: string | null;
  actions: { activate: boolean; extend: boolean; renew: boolean; end: boolean };
}

export interface Access {
  eligible: AccessItem[];
  active: AccessItem[];
  expired: AccessItem[];
}

export interface History {
  activations: Array<{
    role: string;
    kind: string;
    scope: string;
    status: string;
    createdAt: string;
    decidedAt: string | null;
    decidedBy: string | Person | null;
  }>;
  approvals: Array<{ role: string; requester: string | Person; result: string; decidedAt: string; justification: string }>;
}

export interface Dashboard {
  range: { from: string; to: string; timeZone: string };
  roles: Array<{ id: string; name: string }>;
  decisionTime: {
    buckets: Array<{ label: string; count: number }>;
    byRole: Array<{ role: string; count: number; medianMinutes: number | null }>;
    byHour: Array<{ hour: number; count: number; medianMinutes: number | null }>;
  };
  outcomes: Array<{ outcome: string; count: number }>;
  pendingByAge: Array<{ bucket: string; count: number }>;
  nudges: { reminders: number; escalations: number };
  topRoles: Array<{ role: string; count: number }>;
  topRequesters: Array<{ name: string; count: number }>;
  dormant: Array<{ principal: string; role: string; kind: string; lastActivation: string | null }>;
  permanent: Array<{ principal: string; role: string; kind: string }>;
  spotAudits: Array<Record<string, unknown>>;
}
