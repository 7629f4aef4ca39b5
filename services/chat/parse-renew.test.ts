import { looksLikeRenewCommand, parseRenewCommand } from './parse-renew';
import type { RoleCandidate } from './match-role';

const EXO: RoleCandidate = { id: 'entraRole|exo|/', displayName: 'Exchange Administrator', kind: 'entraRole' };
const SQL: RoleCandidate = { id: 'group|member|sql', displayName: 'SQL Admins (member)', kind: 'group' };
const SO: RoleCandidate = { id: 'entraRole|so|/', displayName: 'Security Operator', kind: 'entraRole' };
const GA: RoleCandidate = { id: 'entraRole|ga|/', displayName: 'Global Administrator', kind: 'entraRole' };

describe('"renew <role>": renewing an eligibility that expired in the last 30 days', () => {
  test.each([
    ['renew exchange administrator', EXO],
    ['Renew exchange admin.', EXO],
    ['please renew my SQL admins', SQL],
    ['renewal of exchange administrator', EXO],
    ['renew sql admins role', SQL],
  ])('%s renews %o', (text, role) => {
    expect(looksLikeRenewCommand(text)).toBe(true);
    expect(parseRenewCommand(text, [EXO, SQL], [SO])).toEqual({ kind: 'renew', role: expect.objectContaining({ candidate: role }) });
  });

  test('is not a command for other messages', () => {
    for (const text of ['extend security operator', 'activate exchange admin', 'roles', 'status', 'my renewal is pending?']) {
      expect(looksLikeRenewCommand(text)).toBe(false);
      expect(parseRenewCommand(text, [EXO])).toBeNull();
    }
  });

  test('a bare "renew" never renews anything: it asks which, listing the expired ones, even when only one is', () => {
    expect(parseRenewCommand('renew', [EXO])).toEqual({
      kind: 'clarify',
      question:
        'Which expired assignment do you want to renew? Expired in the last 30 days: Exchange Administrator. For example "renew Exchange Administrator".',
    });
  });

  test('a part of a name is not enough: "renew global admin" does not renew Exchange Administrator', () => {
    expect(parseRenewCommand('renew global admin', [EXO, SQL])).toEqual({
      kind: 'clarify',
      question:
        '"global admin" is not one of your expired assignments, so there is nothing to renew. Expired in the last 30 days: Exchange Administrator, SQL Admins (member). For example "renew Exchange Administrator".',
    });
  });

  test('a role that has not expired is pointed to extend', () => {
    expect(parseRenewCommand('renew sec op', [EXO], [SO, GA])).toEqual({
      kind: 'clarify',
      question:
        'Your eligibility for Security Operator has not expired, so there is nothing to renew: PIM renews an assignment only after it ends. To keep it longer, type "extend Security Operator".',
    });
  });

  test('with nothing expired it says so', () => {
    expect(parseRenewCommand('renew exchange administrator', [])).toEqual({
      kind: 'clarify',
      question: expect.stringContaining('You have no expired assignment to renew: PIM keeps one for 30 days after it ends'),
    });
  });

  test('two expired names that both fit: asks which', () => {
    const SQLO: RoleCandidate = { id: 'group|owner|sql', displayName: 'SQL Admins (owner)', kind: 'group' };
    expect(parseRenewCommand('renew sql admins', [SQL, SQLO])).toEqual({
      kind: 'clarify',
      question: 'Which one do you mean: SQL Admins (member) or SQL Admins (owner)? For example "renew SQL Admins (member)".',
    });
  });
});
