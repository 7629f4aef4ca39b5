/**
 * docs/policy.md is written by hand, so it is checked against the schemas: every key the policy file
 * accepts is named on the page, and the page's example is a valid policy.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parsePolicy, policySchema } from '../../services/decision/policy';
import { integrationsSettingsSchema, parseIntegrationsSettings } from '../../services/integrations/settings';

const DOC = readFileSync(path.join(__dirname, '../../docs/policy.md'), 'utf8');

/** Every object key anywhere in a schema (through optional, default, effects, unions, records and arrays). */
function keysOf(schema: z.ZodTypeAny, found = new Set<string>()): Set<string> {
  const def = schema._def as { typeName: string; [k: string]: any };
  switch (def.typeName) {
    case 'ZodObject':
      for (const [key, value] of Object.entries((schema as z.AnyZodObject).shape as Record<string, z.ZodTypeAny>)) {
        found.add(key);
        keysOf(value, found);
      }
      break;
    case 'ZodOptional':
    case 'ZodNullable':
    case 'ZodDefault':
      keysOf(def.innerType, found);
      break;
    case 'ZodEffects':
      keysOf(def.schema, found);
      break;
    case 'ZodRecord':
      keysOf(def.valueType, found);
      break;
    case 'ZodArray':
      keysOf(def.type, found);
      break;
    case 'ZodUnion':
    case 'ZodDiscriminatedUnion':
      for (const option of def.options as z.ZodTypeAny[]) keysOf(option, found);
      break;
  }
  return found;
}

/** Words inside the page's code spans and blocks: where a key counts as documented. */
function codeWords(markdown: string): Set<string> {
  const spans = [...markdown.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)].map((m) => m[0]);
  return new Set(spans.flatMap((s) => s.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []));
}

describe('the policy reference (docs/policy.md)', () => {
  it('names every key of the policy file and of its integrations block', () => {
    const documented = codeWords(DOC);
    const keys = [...keysOf(policySchema), ...keysOf(integrationsSettingsSchema)];
    expect(keys.length).toBeGreaterThan(30);
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
  });

  it('would notice a key that is not documented', () => {
    const schema = z.object({ roles: z.record(z.object({ onCall: z.boolean(), brandNewCheck: z.boolean().optional() })) });
    const documented = codeWords(DOC);
    expect([...keysOf(schema)].filter((k) => !documented.has(k))).toEqual(['brandNewCheck']);
  });

  it('has an example that is a valid policy', () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(DOC)?.[1];
    expect(yaml).toBeDefined();
    const doc = parseYaml(yaml!) as { integrations?: unknown };
    const policy = parsePolicy(doc, 'in docs/policy.md');
    expect(Object.keys(policy.roles)).toContain('5f2222b1-57c3-48ba-8ad5-d4759f1fde6f');
    expect(() => parseIntegrationsSettings(doc.integrations)).not.toThrow();
  });

  it('shows the start-up error the bot really gives for wrong values, every problem at once', () => {
    // The page's example, exactly: the error text between the fences is what parsePolicy throws for it.
    const shown = /```\n(The decision policy in \/etc\/pim-bot\/policy.yaml is invalid[\s\S]*?)\n```/.exec(DOC)?.[1];
    expect(shown).toBeDefined();
    const doc = { version: 1, roles: { default: { justification: 'block' }, '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f': { autoApprove: { when: ['onCall'] } } } };
    expect(() => parsePolicy(doc, 'in /etc/pim-bot/policy.yaml')).toThrow(shown!);
  });
});
