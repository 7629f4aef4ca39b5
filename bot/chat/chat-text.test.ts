import type { OwnRequest } from '../../services/elevation/self-service';
import type { ActiveAssignment, EligibleTarget } from '../../services/elevation/types';
import type { ChatRequestRow } from '../../services/store/chat-store';
import { md, refusalText, rolesText, statusText, waitedText } from './chat-text';

const NOW = new Date('2026-12-07T10:00:00Z');
const AU = '/administrativeUnits/6b2a1f0e-0000-4000-8000-00000000aa01';

const eligible: EligibleTarget[] = [
  { kind: 'entraRole', roleDefinitionId: 'ga', scope: '/', displayName: 'Global Administrator', eligibleUntil: null },
  { kind: 'entraRole', roleDefinitionId: 'ua', scope: AU, displayName: 'User Administrator', eligibleUntil: '2026-12-16T10:00:00Z' },
  { kind: 'group', roleDefinitionId: 'member', scope: 'g1', displayName: 'SQL_Admins [member] *prod*', eligibleUntil: null },
];
const active: ActiveAssignment[] = [
  {
    kind: 'entraRole',
    roleDefinitionId: 'rr',
    scope: '/',
    displayName: 'Reports Reader',
    startDateTime: '2026-12-07T09:00:00Z',
    endDateTime: '2026-12-07T11:30:00Z',
    assignmentType: 'Activated',
  },
];

function chatRequest(over: Partial<ChatRequestRow>): ChatRequestRow {
  return {
    id: '3f2a9c1e-1111-4222-8333-444455556666',
    user_id: 'u1',
    kind: 'entraRole',
    role_definition_id: 'ga',
    scope: '/',
    role_title: 'Global Administrator',
    state: 'pending',
    pim_request_id: 'p1',
    created_at: '2026-12-07T09:40:00Z',
    active_until: null,
    decided_by_name: null,
    ...over,
  } as ChatRequestRow;
}

/** Teams markdown: a list needs a blank line before it and one "- " item a line; lines joined by one newline run together. */
function listItems(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('- '));
}

function expectListsStartAfterBlankLine(text: string): void {
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.startsWith('- ') && i > 0 && !lines[i - 1]!.startsWith('- ')) expect(lines[i - 1]).toBe('');
    if (!line.startsWith('- ') && line !== '' && i > 0) expect(lines[i - 1]).toBe('');
  });
}

describe('chat replies read as Teams markdown, not one run-on paragraph', () => {
  test('roles: headings and one list item a line, each list after a blank line', () => {
    const text = rolesText(eligible, active, NOW, 'UTC');
    expectListsStartAfterBlankLine(text);
    expect(text).toContain('**Active now**\n\n- Reports Reader: until Mon 7 Dec, 11:30 UTC');
    expect(listItems(text)).toHaveLength(4);
    expect(text).not.toContain('•');
  });

  test('roles: an administrative-unit scope reads "in an administrative unit", never the raw id', () => {
    const text = rolesText(eligible, active, NOW, 'UTC');
    expect(text).toContain('- User Administrator (in an administrative unit) (eligible until');
    expect(text).not.toContain('administrativeUnits');
  });

  test('directory names cannot add markdown (emphasis, links, mentions)', () => {
    const text = rolesText(eligible, [], NOW, 'UTC');
    expect(text).toContain('SQL\\_Admins \\[member\\] \\*prod\\*');
    expect(md('[click](https://evil.example) <at>x</at>')).toBe('\\[click\\](https://evil.example) &lt;at&gt;x&lt;/at&gt;');
  });

  test('status: lists in markdown, and PIM statuses in words ("PendingAdminDecision" never reaches the user)', () => {
    const pimOpen: OwnRequest[] = [
      {
        kind: 'entraRole',
        roleDefinitionId: 'so',
        scope: '/',
        displayName: 'Security Operator',
        pimRequestId: 'x1',
        status: 'PendingAdminDecision',
        action: 'selfExtend',
        createdDateTime: '2026-12-07T09:50:00Z',
      },
      {
        kind: 'entraRole',
        roleDefinitionId: 'exo',
        scope: '/',
        displayName: 'Exchange Administrator',
        pimRequestId: 'x2',
        status: 'PendingAdminDecision',
        action: 'selfRenew',
        createdDateTime: '2026-12-07T09:55:00Z',
      },
    ];
    const text = statusText({ mine: [chatRequest({})], pimOpen, waiting: [], timeZone: 'UTC', now: NOW });
    expectListsStartAfterBlankLine(text);
    expect(listItems(text)).toEqual([
      '- Global Administrator: waiting for approval, requested Mon 7 Dec, 09:40 UTC (id 3f2a9c1e)',
      '- Extension of Security Operator: waiting for your administrators to decide, requested Mon 7 Dec, 09:50 UTC',
      '- Renewal of Exchange Administrator: waiting for your administrators to decide, requested Mon 7 Dec, 09:55 UTC',
    ]);
    expect(text).not.toMatch(/PendingAdminDecision|PendingApproval/);
  });

  test('status with nothing to list says what it looked at, not "from the last while"', () => {
    const text = statusText({ mine: [], pimOpen: [], waiting: [], timeZone: 'UTC', now: NOW });
    expect(text).not.toContain('last while');
    expect(text).toContain('You have made no requests in this chat, and PIM has none of yours open.');
  });

  test('status shows handled requests with what happened to them, and says the list is the last 10 once it is full', () => {
    const mine = Array.from({ length: 10 }, (_, i) => chatRequest({ id: `0000000${i}-0000-4000-8000-000000000000`, state: i < 3 ? 'denied' : 'ended' }));
    const text = statusText({ mine, pimOpen: [], waiting: [], timeZone: 'UTC', now: NOW });
    expect(text).toContain('**Your requests** (the last 10 made in this chat');
    expect(listItems(text).filter((l) => l.includes(': denied'))).toHaveLength(3);
  });

  test('a request waiting for under a minute reads "under a minute", not "0 min"', () => {
    const text = statusText({
      mine: [],
      pimOpen: [],
      waiting: [{ requester: 'Isaiah Langer', role: 'Helpdesk Administrator', createdAt: '2026-12-07T09:59:40Z' }],
      timeZone: 'UTC',
      now: NOW,
    });
    expect(text).toContain('- Isaiah Langer asks for Helpdesk Administrator, waiting under a minute');
    expect(text).not.toContain('0 min');
    expect(waitedText(59_000)).toBe('under a minute');
    expect(waitedText(61_000)).toBe('1 min');
    expect(waitedText(125 * 60_000)).toBe('2 h 5 min');
  });

  test('refusals name what to change, not PIM rule ids or the authentication context id', () => {
    expect(refusalText({ kind: 'policy', rules: ['TicketingRule'] }, 'PIM did not accept it')).toBe(
      "PIM did not accept it: PIM's policy refused it (a ticket number is required).",
    );
    expect(refusalText({ kind: 'authContext' } as never, 'PIM did not accept it')).not.toMatch(/authentication context|c1/);
  });
});
