/**
 * npm run docs:config: writes docs/configuration.md from the zod schemas, so the reference cannot drift
 * from what the bot accepts. Each variable: whether it is required or its default, the values it
 * accepts (read from the schema's checks) and its `.describe()` text. A test fails when the file is
 * out of date or a variable has no description.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { envSchema } from '../../services/config/config';
import { packageEnvSchema } from '../package/package-config';

export const CONFIG_REFERENCE_FILE = path.join(__dirname, '../../docs/configuration.md');

const GUID_SOURCE = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export interface VariableDoc {
  name: string;
  /** "required", "optional", or "default `x`". */
  presence: string;
  accepts: string;
  description: string | undefined;
}

type AnyDef = { typeName?: string; [k: string]: unknown };
const defOf = (s: z.ZodTypeAny): AnyDef => s._def as AnyDef;

/** The values a schema accepts, in words: enum members, number ranges, URL, GUID, lists, JSON. */
export function acceptedValues(schema: z.ZodTypeAny): string {
  const def = defOf(schema);
  switch (def.typeName) {
    case 'ZodDefault':
      return acceptedValues(def.innerType as z.ZodTypeAny);
    case 'ZodOptional':
    case 'ZodNullable':
      return acceptedValues(def.innerType as z.ZodTypeAny);
    case 'ZodEffects':
      return acceptedValues(def.schema as z.ZodTypeAny);
    case 'ZodPipeline': {
      const out = def.out as z.ZodTypeAny;
      const outDef = defOf(out);
      if (outDef.typeName === 'ZodArray') return `comma-separated list of ${plural(acceptedValues(outDef.type as z.ZodTypeAny))}`;
      if (['ZodRecord', 'ZodObject'].includes(String(outDef.typeName))) return 'JSON object';
      if (outDef.typeName === 'ZodPipeline' || outDef.typeName === 'ZodEffects') {
        const inner = acceptedValues(out);
        return inner === 'text' ? acceptedValues(def.in as z.ZodTypeAny) : inner;
      }
      return acceptedValues(out);
    }
    case 'ZodEnum':
      return (def.values as string[]).map((v) => `\`${v}\``).join(', ');
    case 'ZodLiteral':
      return `\`${String(def.value)}\``;
    case 'ZodBoolean':
      return '`true`, `false`';
    case 'ZodRecord':
    case 'ZodObject':
      return 'JSON object';
    case 'ZodNumber': {
      const checks = def.checks as Array<{ kind: string; value?: number }>;
      const int = checks.some((c) => c.kind === 'int');
      const min = checks.find((c) => c.kind === 'min')?.value;
      const max = checks.find((c) => c.kind === 'max')?.value;
      const range = min !== undefined && max !== undefined ? ` ${min}–${max}` : min !== undefined ? ` ≥ ${min}` : max !== undefined ? ` ≤ ${max}` : '';
      return `${int ? 'integer' : 'number'}${range}`;
    }
    case 'ZodString': {
      const checks = def.checks as Array<{ kind: string; regex?: RegExp; message?: string }>;
      if (checks.some((c) => c.kind === 'url')) return 'URL';
      const regex = checks.find((c) => c.kind === 'regex');
      if (regex?.regex?.source === GUID_SOURCE) return 'GUID';
      if (regex?.message?.startsWith('must be ')) return regex.message.slice('must be '.length).replace(/^an? /, '');
      return 'text';
    }
    default:
      return 'text';
  }
}

function plural(what: string): string {
  if (what === 'GUID') return 'GUIDs';
  if (what === 'URL') return 'URLs';
  return what;
}

/** Required, optional or its default, found by parsing "unset" (so preprocessors and defaults count as the bot sees them). */
export function presenceOf(schema: z.ZodTypeAny): string {
  const unset = schema.safeParse(undefined);
  if (!unset.success) return 'required';
  const v: unknown = unset.data;
  if (v === undefined || (Array.isArray(v) && v.length === 0)) return 'optional';
  return `default \`${Array.isArray(v) ? v.join(',') : String(v)}\``;
}

export function variableDocs(schema: z.AnyZodObject): VariableDoc[] {
  return Object.entries(schema.shape as Record<string, z.ZodTypeAny>).map(([name, field]) => ({
    name,
    presence: presenceOf(field),
    accepts: acceptedValues(field),
    description: field.description,
  }));
}

/** Variables without a `.describe()` text (the reference would have an empty cell). */
export function undocumented(schema: z.AnyZodObject): string[] {
  return variableDocs(schema)
    .filter((d) => !d.description?.trim())
    .map((d) => d.name);
}

/** Table-safe: `|` would end the cell, and `<path>` would read as an HTML tag and vanish. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function table(docs: VariableDoc[]): string {
  const rows = docs.map((d) => `| \`${d.name}\` | ${cell(d.presence)} | ${cell(d.accepts)} | ${cell(d.description ?? '')} |`);
  return ['| variable | required / default | accepts | what it is |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderConfigReference(): string {
  return `# Configuration reference

<!-- Generated by \`npm run docs:config\` from services/config/config.ts and scripts/package/package-config.ts. Do not edit by hand. -->

The bot reads its configuration once at start, from environment variables, through one zod schema
(\`services/config/config.ts\`). A missing or wrong value stops start-up with a message naming the variable
and what it must be, for example \`TENANT_ID: must be a GUID: the Entra tenant id\`. Besides the checks of
each variable: \`BOT_APP_SECRET\` or \`BOT_CERTIFICATE_PATH\` is required; \`DATABASE_URL\` is required in
production; \`POLICY_FILE\` and \`POLICY_JSON\` exclude each other; the three \`AZURE_OPENAI_*\` connection
variables go together; production accepts only Microsoft's Entra authorities and refuses the simulator's
secrets; demo mode listens on loopback only and talks only to a simulator on loopback.

Secrets named by the decision policy (\`{secret: NAME}\`, see [policy.md](policy.md)) are read from the
environment variable \`NAME\` (upper case, digits and \`_\`).

## The bot

${table(variableDocs(envSchema))}

## The Teams app package (\`npm run package\`)

\`npm run package\` reads the bot's own \`BOT_APP_ID\`, \`PUBLIC_BASE_URL\` (required here) and
\`TEAMS_APP_MANIFEST_ID\`, plus the app's listing details, and writes
\`appPackage/build/pim-approvals-<version>.zip\`.

${table(variableDocs(packageEnvSchema))}
`;
}

if (require.main === module) {
  writeFileSync(CONFIG_REFERENCE_FILE, renderConfigReference());
  console.log(`Wrote ${path.relative(process.cwd(), CONFIG_REFERENCE_FILE)}`);
}
