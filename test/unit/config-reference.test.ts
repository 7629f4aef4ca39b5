/**
 * docs/configuration.md is generated from the config schemas: every variable has a description, and the
 * committed file is what the generator writes now.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { envSchema } from '../../services/config/config';
import { packageEnvSchema } from '../../scripts/package/package-config';
import { acceptedValues, CONFIG_REFERENCE_FILE, presenceOf, renderConfigReference, undocumented } from '../../scripts/docs/config-reference';

describe('the configuration reference', () => {
  it('has a description for every variable the bot and npm run package read', () => {
    expect(undocumented(envSchema)).toEqual([]);
    expect(undocumented(packageEnvSchema)).toEqual([]);
  });

  it('finds a variable that has no description', () => {
    const schema = z.object({ DESCRIBED: z.string().describe('has one'), BARE: z.string().optional() });
    expect(undocumented(schema)).toEqual(['BARE']);
  });

  it('is up to date with the schemas (run npm run docs:config after changing them)', () => {
    const committed = readFileSync(CONFIG_REFERENCE_FILE, 'utf8');
    const generated = renderConfigReference();
    if (committed !== generated) {
      throw new Error(
        'docs/configuration.md is out of date with services/config/config.ts or scripts/package/package-config.ts: run `npm run docs:config` and commit the result.',
      );
    }
    expect(committed).toContain('| `TENANT_ID` | required | GUID |');
  });

  it('reads required, default and accepted values from the schema as the bot parses them', () => {
    expect(presenceOf(envSchema.shape.TENANT_ID)).toBe('required');
    expect(presenceOf(envSchema.shape.DECISION_BUDGET_MS)).toBe('default `3000`');
    expect(presenceOf(envSchema.shape.TEAMS_APP_MANIFEST_ID)).toBe('optional');
    expect(acceptedValues(envSchema.shape.APP_MODE)).toBe('`production`, `demo`');
    expect(acceptedValues(envSchema.shape.DECISION_BUDGET_MS)).toBe('integer 100–8000');
    expect(acceptedValues(envSchema.shape.PIM_ALLOWED_CALLER_APP_IDS)).toBe('comma-separated list of GUIDs');
    expect(acceptedValues(envSchema.shape.APPROVER_CHANNELS)).toBe('JSON object');
  });
});
