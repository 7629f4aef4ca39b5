import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical';

/**
 * Binding a PIM callout to PIM's own request. A PIM token is valid for an hour, so whoever holds one can
 * post any body: what the approvers see must be what PIM itself holds. Pure functions: the callout's
 * content, its digest, and the comparison with PIM's copy.
 */
export interface RequestContent {
  principalId: string;
  roleDefinitionId: string;
  scope: string;
  justification: string;
  ticketNumber: string | null;
  ticketSystem: string | null;
}

export type ContentField = keyof RequestContent;

const FIELDS: ContentField[] = ['principalId', 'roleDefinitionId', 'scope', 'justification', 'ticketNumber', 'ticketSystem'];

function norm(field: ContentField, v: string | null | undefined): string {
  const t = (v ?? '').trim();
  // Ids, scopes and ticket systems compare without case; the justification and ticket number as written.
  if (field === 'justification' || field === 'ticketNumber') return t;
  if (field === 'scope') return t.toLowerCase() || '/';
  return t.toLowerCase();
}

/** The fields in which two contents differ (names only, never values: they go to logs and the audit trail). */
export function differences(a: RequestContent, b: RequestContent): ContentField[] {
  // A ticket system only counts when there is a ticket.
  return FIELDS.filter(
    (f) => !(f === 'ticketSystem' && !norm('ticketNumber', a.ticketNumber) && !norm('ticketNumber', b.ticketNumber)) && norm(f, a[f]) !== norm(f, b[f]),
  );
}

export function sameContent(a: RequestContent, b: RequestContent): boolean {
  return differences(a, b).length === 0;
}

/** The digest a callout is stored under: PIM's retry sends the same body and gets the same digest. */
export function calloutDigest(normalised: unknown): string {
  return createHash('sha256').update(canonicalJson(normalised)).digest('hex');
}
