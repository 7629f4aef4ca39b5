import type { AccessKind, Person } from './api-types';

/** Words for what the API sends as values; an unknown value is shown tidied, never as a code where words exist. */
const STATUS: Record<string, string> = {
  pending: 'Pending approval',
  recording: 'Recording decision',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  cancelled: 'Cancelled',
  canceled: 'Cancelled',
  failed: 'Failed',
  provisioned: 'Active',
  granted: 'Approved',
  revoked: 'Ended',
  approve: 'Approved',
  deny: 'Denied',
};

/** A symbol beside each status, so status is never told by colour alone (the word is there too). */
const STATUS_SYMBOL: Record<string, string> = {
  pending: '◷',
  recording: '◷',
  approved: '✓',
  granted: '✓',
  provisioned: '✓',
  denied: '✕',
  failed: '✕',
  expired: '⌛',
  cancelled: '⊘',
  canceled: '⊘',
  revoked: '⊘',
  approve: '✓',
  deny: '✕',
};

export function statusLabel(status: string): string {
  return STATUS[status.toLowerCase()] ?? tidy(status);
}

export function statusSymbol(status: string): string {
  return STATUS_SYMBOL[status.toLowerCase()] ?? '•';
}

/** A Fluent badge colour for a status (the word and symbol carry the meaning; colour only adds to it). */
export function statusColor(status: string): string {
  switch (status.toLowerCase()) {
    case 'approved':
    case 'granted':
    case 'provisioned':
    case 'approve':
      return 'success';
    case 'denied':
    case 'deny':
    case 'failed':
      return 'danger';
    case 'pending':
    case 'recording':
      return 'warning';
    default:
      return 'informative';
  }
}

const KIND: Record<string, string> = { entraRole: 'Entra role', group: 'Group', azureResource: 'Azure resource', role: 'Entra role' };

export function kindLabel(kind: AccessKind | string): string {
  return KIND[kind] ?? tidy(kind);
}

/** PIM's directory-wide scope "/" in words. */
export function scopeLabel(scope: string): string {
  return scope === '/' || scope === '' ? 'Whole directory' : scope;
}

export function personName(p: Person | string | null | undefined): string {
  if (!p) return '';
  return typeof p === 'string' ? p : p.name || p.upn;
}

export function outcomeLabel(outcome: string): string {
  return statusLabel(outcome);
}

/** "riskyUser" → "Risky user", "on_call" → "On call". */
export function tidy(s: string): string {
  const spaced = s
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .trim()
    .toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}
