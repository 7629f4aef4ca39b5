import { looksLikeEndCommand, parseEndCommand } from './parse-end';
import type { RoleCandidate } from './match-role';

const SO: RoleCandidate = { id: 'entraRole|so|/', displayName: 'Security Operator', kind: 'entraRole' };
const EXO: RoleCandidate = { id: 'entraRole|exo|/', displayName: 'Exchange Administrator', kind: 'entraRole' };
const SQL: RoleCandidate = { id: 'group|member|sql', displayName: 'SQL Admins (member)', kind: 'group' };

describe('"done <role>": ending an active role early', () => {
  test.each([
    ['done security operator', SO],
    ['Done with sec op.', SO],
    ["I'm done with exchange admin", EXO],
    ['deactivate Exchange Administrator', EXO],
    ['end sql admins', SQL],
    ['finished security operator, thanks', SO],
  ])('%s ends %o', (text, role) => {
    expect(looksLikeEndCommand(text)).toBe(true);
    expect(parseEndCommand(text, [SO, EXO, SQL])).toEqual({ kind: 'end', role: expect.objectContaining({ candidate: role }) });
  });

  test('is not a command for other messages', () => {
    // "release" is the digest's word for giving up an eligibility, not for ending an activation.
    for (const text of ['activate security operator', 'roles', 'the end is near', 'status', 'release security operator']) {
      expect(looksLikeEndCommand(text)).toBe(false);
      expect(parseEndCommand(text, [SO])).toBeNull();
    }
  });

  test('a bare "done" never ends anything: it asks which role, listing the active ones, even when only one is', () => {
    expect(parseEndCommand('done', [SO])).toEqual({
      kind: 'clarify',
      question: expect.stringContaining('Which role do you want to end now? Active now: Security Operator.'),
    });
  });

  test('a part of a name is not enough: "done global admin" does not end Exchange Administrator', () => {
    expect(parseEndCommand('done global admin', [SO, EXO])).toEqual({
      kind: 'clarify',
      question: expect.stringContaining(
        '"global admin" is not one of your active roles, so there is nothing to end. Active now: Security Operator, Exchange Administrator.',
      ),
    });
  });

  test('with nothing active it says so', () => {
    expect(parseEndCommand('done security operator', [])).toEqual({ kind: 'clarify', question: expect.stringContaining('You have no active role to end') });
  });
});
