import { calloutDigest, differences, sameContent, type RequestContent } from './callout-binding';

const base: RequestContent = {
  principalId: 'AAAA',
  roleDefinitionId: 'Role',
  scope: '/',
  justification: 'Reset MFA for the CFO, INC0012345',
  ticketNumber: 'INC0012345',
  ticketSystem: 'ServiceNow',
};

describe("binding a callout to PIM's copy", () => {
  it('matches the same content, ignoring case in ids and whitespace around text', () => {
    expect(
      sameContent(base, {
        ...base,
        principalId: 'aaaa',
        roleDefinitionId: 'ROLE',
        justification: ' Reset MFA for the CFO, INC0012345 ',
        ticketSystem: 'servicenow',
      }),
    ).toBe(true);
  });
  it('names every field that differs, never the values', () => {
    expect(differences(base, { ...base, justification: 'something else entirely', ticketNumber: 'INC0099999', scope: '/administrativeUnits/x' })).toEqual([
      'scope',
      'justification',
      'ticketNumber',
    ]);
  });
  it('ignores the ticket system when neither has a ticket, and counts it when one has', () => {
    expect(sameContent({ ...base, ticketNumber: null, ticketSystem: null }, { ...base, ticketNumber: '', ticketSystem: 'ServiceNow' })).toBe(true);
    expect(differences(base, { ...base, ticketSystem: 'Jira' })).toEqual(['ticketSystem']);
  });
  it('digests canonically: key order does not matter, any value does', () => {
    expect(calloutDigest({ a: 1, b: 'x' })).toBe(calloutDigest({ b: 'x', a: 1 }));
    expect(calloutDigest({ a: 1, b: 'x' })).not.toBe(calloutDigest({ a: 1, b: 'y' }));
  });
});
