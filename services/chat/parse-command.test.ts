import { editDistance } from './edit-distance';
import { type ParsedCommand, parseCommand, type RoleCandidate } from './parse-command';

const role = (id: string, displayName: string, kind: RoleCandidate['kind'] = 'entraRole'): RoleCandidate => ({ id, displayName, kind });
const SO = role('so', 'Security Operator');
const SR = role('sr', 'Security Reader');
const SA = role('sa', 'Security Administrator');
const UA = role('ua', 'User Administrator');
const HA = role('ha', 'Helpdesk Administrator');
const GA = role('ga', 'Global Administrator');
const PRA = role('pra', 'Privileged Role Administrator');
const SRE = role('sre', 'On-call SRE', 'group');
const VMC = role('vmc', 'Virtual Machine Contributor', 'azureResource');
const ELIGIBLE = [SO, SR, SA, UA, HA, GA, PRA, SRE, VMC];

// 14:00 UTC is 15:00 in Amsterdam (CET, before the March DST switch).
const NOW = new Date('2025-03-10T14:00:00Z');

const ELIGIBLE_TEXT =
  'You are eligible for: Security Operator, Security Reader, Security Administrator, User Administrator, ' +
  'Helpdesk Administrator, Global Administrator, Privileged Role Administrator, On-call SRE, Virtual Machine Contributor.';
const DURATIONS = 'Durations go from 1 minute up to 24 hours, for example "for 2h", "90m", "1h30" or "until 17:30".';
const HINT =
  'I did not understand that. Try "activate <role> for 2h ticket INC0012345 because <reason>", ' +
  `"roles", "status", "cancel", "extend <role>", "renew <role>" or "help". ${ELIGIBLE_TEXT}`;

type Ticket = { system: string | null; number: string } | null;
const activate = (
  candidate: RoleCandidate,
  confidence: 'exact' | 'fuzzy',
  durationMinutes: number | null,
  ticket: Ticket = null,
  justification: string | null = null,
): ParsedCommand => ({ kind: 'activate', role: { candidate, confidence }, durationMinutes, ticket, justification });
const snow = (number: string): Ticket => ({ system: 'ServiceNow', number });
const jira = (number: string): Ticket => ({ system: 'Jira', number });
const clarify = (question: string): ParsedCommand => ({ kind: 'clarify', question });
const which = (verb: string): ParsedCommand => clarify(`Which role do you want to ${verb}? ${ELIGIBLE_TEXT} For example "${verb} Security Operator".`);
const notFound = (said: string, verb = 'activate'): ParsedCommand =>
  clarify(`I could not find "${said}" among your roles. ${ELIGIBLE_TEXT} For example "${verb} Security Operator".`);
const badDuration = (said: string): ParsedCommand => clarify(`"${said}" is not a duration I can activate for. ${DURATIONS}`);
const tooLong = (said: string): ParsedCommand => clarify(`"${said}" is longer than PIM allows. ${DURATIONS}`);
const SECURITY_CHOICE = 'Which one do you mean: Security Operator, Security Reader or Security Administrator?';

type Case = [phrase: string, expected: ParsedCommand, timeZone?: string];

const corpus: Case[] = [
  // The demo sentence and word orders.
  [
    'activate security operator for 2h ticket ServiceNow INC0012345 because investigating alert',
    activate(SO, 'exact', 120, snow('INC0012345'), 'investigating alert'),
  ],
  ['activate for 2h security operator', activate(SO, 'exact', 120)],
  ['security operator activate 2h', activate(SO, 'exact', 120)],
  ['ticket INC0012345 activate user admin', activate(UA, 'fuzzy', null, snow('INC0012345'))],
  ['Security Operator, 2h, INC0012345: suspicious sign-ins', activate(SO, 'exact', 120, snow('INC0012345'), 'suspicious sign-ins')],
  ['please activate the security operator role for 45 mins thanks', activate(SO, 'exact', 45)],
  ['security operator', activate(SO, 'exact', null)],
  ['ACTIVATE Security Operator!!', activate(SO, 'exact', null)],

  // Teams mentions.
  ['<at>PIM Approvals</at> activate security operator for 2h', activate(SO, 'exact', 120)],
  ['<at id="0">PIM Approvals</at> <at id="1">Bob</at> roles', { kind: 'roles' }],
  ['<at>PIM Approvals</at>&nbsp;status', { kind: 'status' }],

  // Typos and abbreviations.
  ['activate secuirty operater 2h', activate(SO, 'fuzzy', 120)],
  ['actvate sec op 90m', activate(SO, 'fuzzy', 90)],
  ['activate user administartor 1 hour', activate(UA, 'fuzzy', 60)],
  ['activate helpdesk admin 1.5h', activate(HA, 'fuzzy', 90)],
  ['activate help desk admin 1h30', activate(HA, 'fuzzy', 90)],
  ['activate global admin 1h 30m', activate(GA, 'fuzzy', 90)],
  ['activate ga PT2H', activate(GA, 'fuzzy', 120)],
  ['activate privileged role admin 1h', activate(PRA, 'fuzzy', 60)],
  ['activate vm contributor 1h', activate(VMC, 'fuzzy', 60)],
  ['activate on-call sre 4h', activate(SRE, 'exact', 240)],
  ['activate oncall sre for 30 minutes', activate(SRE, 'exact', 30)],
  ['elevate me to virtual machine contributor for two hours', activate(VMC, 'exact', 120)],
  ['sec op pls 3h #4711', activate(SO, 'fuzzy', 180, { system: null, number: '4711' })],
  ['need security operator until 5', activate(SO, 'exact', 180)],

  // Durations.
  ['activate security reader half an hour', activate(SR, 'exact', 30)],
  ['activate user admin 90 min', activate(UA, 'fuzzy', 90)],
  ['activate user admin 2 hours', activate(UA, 'fuzzy', 120)],
  ['activate user admin an hour and a half', activate(UA, 'fuzzy', 90)],
  ['activate user admin 1,5h', activate(UA, 'fuzzy', 90)],
  ['activate user admin 24h', activate(UA, 'fuzzy', 1440)],
  ['activate user admin 1440m', activate(UA, 'fuzzy', 1440)],
  ['activate user admin until 5pm', activate(UA, 'fuzzy', 180)],
  ['activate user admin until 5pm', activate(UA, 'fuzzy', 120), 'Europe/Amsterdam'],
  ['activate user admin until 17:30', activate(UA, 'fuzzy', 210)],
  ['activate user admin until 9am', activate(UA, 'fuzzy', 1080), 'Europe/Amsterdam'],
  ['activate user admin until noon', activate(UA, 'fuzzy', 1320)],
  // Said at 14:00: the next 2 pm is tomorrow's.
  ['activate user admin until 2pm', activate(UA, 'fuzzy', 1440)],

  // Durations that are refused or need clarifying.
  ['activate user admin for 0h', badDuration('for 0h')],
  ['activate user admin 0m', badDuration('0m')],
  ['activate user admin for -2h', badDuration('for -2h')],
  ['activate user admin for 25h', tooLong('for 25h')],
  ['activate user admin for 2 days', tooLong('for 2 days')],
  ['activate user admin for 1500m', tooLong('for 1500m')],
  ['activate user admin 24h 1m', tooLong('24h 1m')],
  ['activate user admin until 25:00', clarify(`"until 25:00" is not a time of day. ${DURATIONS}`)],
  ['activate user admin for 2', clarify(`Did you mean 2 hours or 2 minutes? Say "for 2h" or "for 2m". ${DURATIONS}`)],
  ['activate user admin for a while', clarify(`How long exactly is "for a while"? ${DURATIONS}`)],

  // Tickets.
  ['activate user admin ticket CHG0000042', activate(UA, 'fuzzy', null, snow('CHG0000042'))],
  ['activate user admin ticket RITM0010001', activate(UA, 'fuzzy', null, snow('RITM0010001'))],
  ['activate user admin ticket OPS-42', activate(UA, 'fuzzy', null, jira('OPS-42'))],
  ['activate user admin ticket jira ops-42', activate(UA, 'fuzzy', null, jira('OPS-42'))],
  ['activate user admin ticket Zendesk 12345', activate(UA, 'fuzzy', null, { system: 'Zendesk', number: '12345' })],
  ['activate user admin #INC0012345', activate(UA, 'fuzzy', null, snow('INC0012345'))],
  ['activate Security Operator for INC0012345 2h', activate(SO, 'exact', 120, snow('INC0012345'))],
  ['activate user admin OPS-77 cfo locked out', activate(UA, 'fuzzy', null, jira('OPS-77'), 'cfo locked out')],
  // Lower-case "covid-19" is prose, not a Jira key.
  ['activate user admin covid-19 outbreak', activate(UA, 'fuzzy', null, null, 'covid-19 outbreak')],

  // Justifications.
  ['need user admin for an hour for INC0012345, locked-out CFO', activate(UA, 'fuzzy', 60, snow('INC0012345'), 'locked-out CFO')],
  ['activate user admin - cfo locked out', activate(UA, 'fuzzy', null, null, 'cfo locked out')],
  ['activate user admin reason: CFO locked out of mailbox', activate(UA, 'fuzzy', null, null, 'CFO locked out of mailbox')],
  ['activate user admin because of INC0012345', activate(UA, 'fuzzy', null, snow('INC0012345'), 'of INC0012345')],
  ['activate user admin for 90 minutes ticket snow INC0099999 - locked out cfo', activate(UA, 'fuzzy', 90, snow('INC0099999'), 'locked out cfo')],

  // Roles that are ambiguous, missing or not eligible.
  ['activate security', clarify(`${SECURITY_CHOICE} For example "activate Security Operator".`)],
  [
    'activate admin',
    clarify(
      'Which one do you mean: Security Administrator, User Administrator, Helpdesk Administrator, ' +
        'Global Administrator or Privileged Role Administrator? For example "activate Security Administrator".',
    ),
  ],
  ['activate', which('activate')],
  ['activate for 2h', which('activate')],
  ['activate payroll approver', notFound('payroll approver')],
  ['activate global reader', notFound('global reader')],

  // Other commands.
  ['roles', { kind: 'roles' }],
  ['my roles', { kind: 'roles' }],
  ['what roles can I activate', { kind: 'roles' }],
  ['status', { kind: 'status' }],
  ["what's pending", { kind: 'status' }],
  ['my requests', { kind: 'status' }],
  ['help', { kind: 'help' }],
  ['?', { kind: 'help' }],
  ['what can you do', { kind: 'help' }],
  ['cancel', { kind: 'cancel', requestRef: null }],
  ['cancel my request', { kind: 'cancel', requestRef: null }],
  ['cancel 3f2a9c1e-1111-2222-3333-444455556666', { kind: 'cancel', requestRef: '3f2a9c1e-1111-2222-3333-444455556666' }],
  ['cancel REQ0012345', { kind: 'cancel', requestRef: 'REQ0012345' }],
  ['cancel security operator', { kind: 'cancel', requestRef: 'so' }],
  ['cancle sec op', { kind: 'cancel', requestRef: 'so' }],
  ['cancel security', clarify(`${SECURITY_CHOICE} For example "cancel Security Operator".`)],
  ['cancel payroll', notFound('payroll', 'cancel')],
  ['extend security operator', { kind: 'extend', role: { candidate: SO, confidence: 'exact' } }],
  ['extnd user admin', { kind: 'extend', role: { candidate: UA, confidence: 'fuzzy' } }],
  ['I need to extend the security operator role', { kind: 'extend', role: { candidate: SO, confidence: 'exact' } }],
  ['extend', which('extend')],
  ['hello there general kenobi', { kind: 'unknown', hint: HINT }],
  ['', { kind: 'unknown', hint: HINT }],
];

describe('parseCommand corpus', () => {
  it('covers at least 60 phrasings', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
  });

  // Rows always carry three values: jest would take a missing third argument for a `done` callback and wait.
  const rows = corpus.map(([phrase, expected, timeZone]) => [phrase, expected, timeZone ?? 'UTC'] as const);
  it.each(rows)('%p', (phrase, expected, timeZone) => {
    expect(parseCommand(phrase, ELIGIBLE, NOW, timeZone)).toEqual(expected);
  });
});

describe('parseCommand edge cases', () => {
  it('tells a user with no eligible roles who to ask', () => {
    expect(parseCommand('activate security operator', [], NOW)).toEqual(
      clarify('You are not eligible for any role or group in PIM yet; ask your PIM administrator to make you eligible.'),
    );
  });

  it('does not treat "role" as filler for someone eligible for Privileged Role Administrator', () => {
    expect(parseCommand('activate privileged role administrator', [PRA, SR], NOW)).toEqual(activate(PRA, 'exact', null));
  });

  it('takes a bare group name for the one access the user is eligible for, and asks when there are two', () => {
    const member = role('m', 'SQL Admins (member)', 'group');
    const owner = role('o', 'SQL Admins (owner)', 'group');
    expect(parseCommand('activate sql admins for 1h', [member, GA], NOW)).toEqual(activate(member, 'exact', 60));
    expect(parseCommand('activate sql admins owner for 1h', [member, owner], NOW)).toEqual(activate(owner, 'exact', 60));
    expect(parseCommand('activate sql admins for 1h', [member, owner], NOW).kind).toBe('clarify');
  });

  it('matches a single eligible role from part of its name', () => {
    expect(parseCommand('activate contributor', ELIGIBLE, NOW)).toEqual(activate(VMC, 'fuzzy', null));
  });
});

describe('editDistance', () => {
  it.each([
    ['security', 'security', 0],
    ['secuirty', 'security', 1],
    ['operater', 'operator', 1],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
  ])('%p → %p is %p', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});
