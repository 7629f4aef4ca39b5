import { createHash } from 'node:crypto';
import { z } from 'zod';
import { envSchema } from '../../services/config/config';
import pkg from '../../package.json';

/**
 * What `npm run package` reads. BOT_APP_ID, PUBLIC_BASE_URL and TEAMS_APP_MANIFEST_ID are the bot's own
 * variables (same schema, same checks as at the bot's start); the rest only describe the app in the
 * Teams store listing of the org catalog.
 */
const https = (what: string) =>
  z
    .string()
    .url(`must be an https URL: ${what}`)
    .refine((v) => v.startsWith('https://'), `must be an https URL (Teams refuses http): ${what}`);

const blankAsUnset = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema);

export const packageEnvSchema = z.object({
  BOT_APP_ID: envSchema.shape.BOT_APP_ID,
  PUBLIC_BASE_URL: z
    .string({ required_error: "required: the bot's public https address, e.g. https://pim-bot.contoso.com" })
    .pipe(https("the bot's public address, e.g. https://pim-bot.contoso.com"))
    .describe(envSchema.shape.PUBLIC_BASE_URL.description ?? ''),
  TEAMS_APP_MANIFEST_ID: envSchema.shape.TEAMS_APP_MANIFEST_ID,
  TEAMS_APP_VERSION: blankAsUnset(
    z
      .string()
      .regex(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/, 'must be MAJOR.MINOR.PATCH, e.g. 1.4.0 (Teams requires a higher version for each update of the app)')
      .default(pkg.version),
  ).describe("The Teams app's version; raise it for every upload of a changed package. Unset: the version in package.json"),
  TEAMS_APP_DEVELOPER_NAME: blankAsUnset(z.string().min(1).max(32, 'must be at most 32 characters (Teams manifest limit)').default('IT Security')).describe(
    'Publisher name shown in the Teams app details (at most 32 characters)',
  ),
  TEAMS_APP_WEBSITE_URL: blankAsUnset(https('the support page shown in the app details').optional()).describe(
    'Support page shown in the Teams app details; unset: PUBLIC_BASE_URL',
  ),
  TEAMS_APP_PRIVACY_URL: blankAsUnset(https('the privacy statement').optional()).describe(
    'Privacy statement linked from the Teams app details; unset: TEAMS_APP_WEBSITE_URL',
  ),
  TEAMS_APP_TERMS_URL: blankAsUnset(https('the terms of use').optional()).describe(
    'Terms of use linked from the Teams app details; unset: TEAMS_APP_WEBSITE_URL',
  ),
});

export interface PackageSettings {
  botAppId: string;
  /** The manifest `id`; the bot's TEAMS_APP_MANIFEST_ID must be the same. */
  manifestId: string;
  /** True when TEAMS_APP_MANIFEST_ID was unset and the id was derived from BOT_APP_ID. */
  manifestIdDerived: boolean;
  botDomain: string;
  version: string;
  developer: { name: string; websiteUrl: string; privacyUrl: string; termsOfUseUrl: string };
}

export class PackageConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Cannot build the Teams app package:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSet the variables in the environment (the same values the bot runs with) and run npm run package again.`,
    );
    this.name = 'PackageConfigError';
  }
}

/**
 * A manifest id that stays the same for one bot across builds (so an upload updates the app instead of
 * adding a second one): a name-based (version 5 style) UUID of the bot's app id.
 */
export function stableManifestId(botAppId: string): string {
  const h = createHash('sha1').update(`pim-approvals-teams-app:${botAppId.toLowerCase()}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function loadPackageSettings(env: Record<string, string | undefined>): PackageSettings {
  const parsed = packageEnvSchema.safeParse(env);
  if (!parsed.success) throw new PackageConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  const e = parsed.data;
  const botAppId = e.BOT_APP_ID.toLowerCase();
  const website = e.TEAMS_APP_WEBSITE_URL ?? e.PUBLIC_BASE_URL;
  return {
    botAppId,
    manifestId: (e.TEAMS_APP_MANIFEST_ID ?? stableManifestId(botAppId)).toLowerCase(),
    manifestIdDerived: !e.TEAMS_APP_MANIFEST_ID,
    botDomain: new URL(e.PUBLIC_BASE_URL).hostname,
    version: e.TEAMS_APP_VERSION,
    developer: {
      name: e.TEAMS_APP_DEVELOPER_NAME,
      websiteUrl: website,
      privacyUrl: e.TEAMS_APP_PRIVACY_URL ?? website,
      termsOfUseUrl: e.TEAMS_APP_TERMS_URL ?? website,
    },
  };
}
