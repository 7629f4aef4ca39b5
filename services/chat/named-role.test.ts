import { ineligibleRoleNamed } from './named-role';

const ELIGIBLE = ['Global Administrator', 'Security Operator', 'Reports Reader', 'Exchange Administrator'];
const TENANT = [
  'Global Administrator',
  'Security Operator',
  'Security Reader',
  'Reports Reader',
  'Exchange Administrator',
  'Exchange Recipient Administrator',
  'SharePoint Administrator',
  'Helpdesk Administrator',
  'User Administrator',
];

describe('a role the user names but is not eligible for', () => {
  test('"activate sharepoint admin" names SharePoint Administrator, not a choice between Global and Exchange Administrator', () => {
    expect(ineligibleRoleNamed('activate sharepoint admin', ELIGIBLE, TENANT)).toBe('SharePoint Administrator');
  });

  test.each([
    ['activate helpdesk admin for 1h', 'Helpdesk Administrator'],
    ['activate user administrator for 1h ticket INC0012345', 'User Administrator'],
    ['activate security reader', 'Security Reader'],
    ['activate sharepint admin', 'SharePoint Administrator'],
  ])('%s → %s', (text, role) => {
    expect(ineligibleRoleNamed(text, ELIGIBLE, TENANT)).toBe(role);
  });

  test.each([
    'activate global admin for 2h',
    'activate sec op',
    'activate exchange admin',
    'activate admin',
    'activate security',
    'activate reports reader because the SharePoint Administrator is away',
    'activate payroll approver',
  ])('%s is not an ineligible role named in full', (text) => {
    expect(ineligibleRoleNamed(text, ELIGIBLE, TENANT)).toBeNull();
  });

  test('with no tenant names (the read failed) it never claims a role', () => {
    expect(ineligibleRoleNamed('activate sharepoint admin', ELIGIBLE, [])).toBeNull();
  });
});
