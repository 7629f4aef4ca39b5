import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIntegrations, parseIntegrationsSettings } from '../integrations/settings';
import { effectiveRule } from '../decision/policy';
import { loadPolicy } from './load-policy';

describe('loading the decision policy', () => {
  it('reads the documented example, integrations included', () => {
    const policy = loadPolicy({ file: join(__dirname, '../../config/policy.example.yaml') });
    expect(effectiveRule(policy, '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f')).toMatchObject({ onCall: true, hr: true, autoApprove: ['onCall', 'ticket'] });
    const secrets: Record<string, string> = { SERVICENOW_PASSWORD: 'p', JIRA_API_TOKEN: 't', PAGERDUTY_API_KEY: 'k', OPSGENIE_API_KEY: 'o' };
    const integrations = createIntegrations(parseIntegrationsSettings(policy.integrations), { secret: (n) => secrets[n], graph: {} as never });
    expect(integrations.ticketSystems).toHaveLength(2);
    expect(integrations.onCall).toHaveLength(2);
  });

  it('names the file and the key when the policy is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, 'version: 1\nroles:\n  default:\n    justification: sometimes\n');
    expect(() => loadPolicy({ file })).toThrow(/policy.yaml is invalid \(1 problem\):\n {2}- roles.default.justification/);
    writeFileSync(file, 'version: 1\nroles: [\n');
    expect(() => loadPolicy({ file })).toThrow(/is not valid YAML/);
    expect(() => loadPolicy({ file: join(dir, 'missing.yaml') })).toThrow(/cannot be read: ENOENT/);
    expect(() => loadPolicy({ inline: '{' })).toThrow(/POLICY_JSON is not JSON/);
  });

  it('falls back to the default policy when none is configured', () => {
    expect(effectiveRule(loadPolicy({}), 'default')).toMatchObject({ justification: 'flag', ticket: null, autoApprove: null });
  });
});
