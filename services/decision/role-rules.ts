/**
 * Roles whose activation always needs a person: they can take over the tenant. Entra template ids:
 * Global Administrator, Privileged Role Administrator, Privileged Authentication Administrator.
 */
export const BUILT_IN_HUMAN_ONLY_ROLES: Readonly<Record<string, string>> = {
  '62e90394-69f5-4237-9190-012177145e10': 'Global Administrator',
  'e8611ab8-c189-46e8-94e1-60213ab1f814': 'Privileged Role Administrator',
  '7be44c8a-adaf-4e2a-84d6-ab2649e08a13': 'Privileged Authentication Administrator',
};

/** Ticket number formats of the systems we know; anything else must at least look like an identifier. */
const TICKET_FORMATS: Array<{ system: RegExp; number: RegExp; example: string; name: string }> = [
  { name: 'ServiceNow', system: /^service\s*now$|^snow$/i, number: /^(INC|CHG|RITM|REQ|PRB|TASK|SCTASK)\d{7}$/i, example: 'INC0012345 or CHG0042001' },
  { name: 'Jira', system: /^jira/i, number: /^[A-Z][A-Z0-9_]{1,19}-\d{1,9}$/, example: 'OPS-1234' },
];
const GENERIC_TICKET = /^[A-Za-z0-9][A-Za-z0-9._/#-]{2,63}$/;

/** The system's canonical name when it is one we know by another name (`SNOW` → `ServiceNow`); null otherwise. */
export function canonicalTicketSystem(system: string): string | null {
  return TICKET_FORMATS.find((f) => f.system.test(system.trim()))?.name ?? null;
}

export function ticketProblem(ticket: { system: string; number: string } | null): string | null {
  if (!ticket) return 'No ticket number was supplied. This role needs one: add the incident or change number (for example INC0012345) and its system.';
  const format = TICKET_FORMATS.find((f) => f.system.test(ticket.system.trim()));
  if (format) {
    return format.number.test(ticket.number) ? null : `Ticket number '${clip(ticket.number)}' is not a ${format.name} number. Use the form ${format.example}.`;
  }
  if (!ticket.system.trim()) return `Ticket '${clip(ticket.number)}' has no ticket system. Say which system it is in (ServiceNow or Jira).`;
  return GENERIC_TICKET.test(ticket.number)
    ? null
    : `Ticket number '${clip(ticket.number)}' is not a ticket id. Use the number as your ticket system shows it.`;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}
