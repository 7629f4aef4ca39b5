import { assessJustification } from './justification-quality';

describe('justification quality', () => {
  it.each([
    ['', /No justification/],
    ['   ', /No justification/],
    [null, /No justification/],
    ['test', /placeholder/],
    ['Admin.', /placeholder/],
    ['N/A', /placeholder/],
    ['fix', /placeholder/],
    ['need access', /placeholder/],
    ['!!!!!!!!!!!!!!!!!!!!!!!!', /no readable words/],
    ['aaaaaaaaaaaaaaaaaaaaaaaa', /no readable words/],
    ['reset pwd', /too short/],
    ['quick fix now', /too short/],
  ])('rejects %j', (input, problem) => {
    const result = assessJustification(input as string | null);
    expect(result.ok).toBe(false);
    expect(result.problem).toMatch(problem);
    expect(result.problem).toMatch(/what you will do, on which system, and why now/);
  });

  it.each([
    'Reset MFA for the locked-out CFO, INC0012345',
    'Rotate the signing certificate of the payroll app under change CHG0042001',
    'Investigate sign-in alerts for the finance mailbox during incident INC0077310',
  ])('accepts %j', (input) => {
    expect(assessJustification(input)).toEqual({ ok: true, problem: null, short: null });
  });
});
