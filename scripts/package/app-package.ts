import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import JSZip from 'jszip';
import { PNG } from 'pngjs';
import type { PackageSettings } from './package-config';

/**
 * The Teams app package: appPackage/manifest.template.json with its `${{NAME}}` placeholders filled
 * from the packaging settings, validated against the manifest JSON schema that @microsoft/app-manifest
 * bundles (offline, no download), with the two icons Teams requires, zipped flat (manifest.json,
 * color.png, outline.png at the root, as Teams expects).
 */

export const APP_PACKAGE_DIR = path.join(__dirname, '../../appPackage');
export const TEMPLATE_FILE = 'manifest.template.json';
/** Schema versions before this lack what the bot needs or are older than the project supports. */
const MIN_MANIFEST_VERSION = [1, 19] as const;
/** A fixed timestamp inside the zip, so the same inputs give the same bytes. */
const ZIP_DATE = new Date('2025-01-01T00:00:00Z');

export const ICON_RULES = {
  color: { width: 192, height: 192, what: 'full-colour icon' },
  outline: { width: 32, height: 32, what: 'outline icon (white on transparent)' },
} as const;
export type IconKind = keyof typeof ICON_RULES;

const PLACEHOLDER = /\$\{\{\s*([A-Z0-9_]+)\s*\}\}/g;

function placeholderValues(s: PackageSettings): Record<string, string> {
  return {
    BOT_APP_ID: s.botAppId,
    TEAMS_APP_MANIFEST_ID: s.manifestId,
    BOT_DOMAIN: s.botDomain,
    TEAMS_APP_VERSION: s.version,
    TEAMS_APP_DEVELOPER_NAME: s.developer.name,
    TEAMS_APP_WEBSITE_URL: s.developer.websiteUrl,
    TEAMS_APP_PRIVACY_URL: s.developer.privacyUrl,
    TEAMS_APP_TERMS_URL: s.developer.termsOfUseUrl,
  };
}

/** Placeholders left in a manifest text (none may survive into a package). */
export function findPlaceholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[0]);
}

/** Fills the template's placeholders; values are JSON-escaped, an unknown placeholder is an error. */
export function renderManifest(template: string, settings: PackageSettings): Record<string, unknown> {
  const values = placeholderValues(settings);
  const unknown = new Set<string>();
  const text = template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      unknown.add(whole);
      return whole;
    }
    return JSON.stringify(value).slice(1, -1);
  });
  if (unknown.size)
    throw new Error(`${TEMPLATE_FILE} has placeholders npm run package does not know: ${[...unknown].join(', ')} (known: ${Object.keys(values).join(', ')})`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** The bundled schema file for a manifest's `$schema` URL, or null when the package does not bundle it. */
export function bundledSchemaPath(schemaUrl: string): string | null {
  const m = /^https:\/\/developer\.microsoft\.com\/(?:[a-z]{2}-[a-z]{2}\/)?json-schemas\/teams\/(v[\d.]+)\/MicrosoftTeams\.schema\.json$/.exec(schemaUrl);
  if (!m) return null;
  const root = path.dirname(require.resolve('@microsoft/app-manifest/package.json'));
  const file = path.join(root, 'build', 'json-schemas', 'teams', m[1]!, 'MicrosoftTeams.schema.json');
  return existsSync(file) ? file : null;
}

/**
 * Every problem with a manifest: not on a bundled schema of v1.19 or later, or not valid against it.
 * Empty when it validates.
 */
export async function validateManifest(manifest: Record<string, unknown>): Promise<string[]> {
  const schemaUrl = typeof manifest.$schema === 'string' ? manifest.$schema : '';
  const version = typeof manifest.manifestVersion === 'string' ? manifest.manifestVersion.split('.').map(Number) : [];
  if (!bundledSchemaPath(schemaUrl)) {
    return [
      `$schema ${JSON.stringify(schemaUrl)} is not a Teams manifest schema that @microsoft/app-manifest bundles; use https://developer.microsoft.com/json-schemas/teams/v1.<n>/MicrosoftTeams.schema.json with a bundled version`,
    ];
  }
  if (!(version[0]! > MIN_MANIFEST_VERSION[0] || (version[0] === MIN_MANIFEST_VERSION[0] && version[1]! >= MIN_MANIFEST_VERSION[1]))) {
    return [`manifestVersion ${String(manifest.manifestVersion)} is older than ${MIN_MANIFEST_VERSION.join('.')}`];
  }
  // Loaded here rather than at the top: the library is a dev dependency and loads ajv, which the bot never needs.
  const { AppManifestUtils } = await import('@microsoft/app-manifest');
  return AppManifestUtils.validateAgainstSchema(manifest as never);
}

/** Problems with an icon: not a PNG, the wrong size, or (outline) any pixel that is not white or transparent. */
export function checkIcon(png: Buffer, kind: IconKind): string[] {
  const rule = ICON_RULES[kind];
  let image: PNG;
  try {
    image = PNG.sync.read(png);
  } catch (err) {
    return [`${kind}.png is not a PNG (${(err as Error).message})`];
  }
  const problems: string[] = [];
  if (image.width !== rule.width || image.height !== rule.height) {
    problems.push(`${kind}.png is ${image.width}x${image.height}; the ${rule.what} must be ${rule.width}x${rule.height}`);
  }
  if (kind === 'outline') {
    let coloured = 0;
    let visible = 0;
    for (let i = 0; i < image.data.length; i += 4) {
      if (image.data[i + 3] === 0) continue;
      visible++;
      if (image.data[i] !== 255 || image.data[i + 1] !== 255 || image.data[i + 2] !== 255) coloured++;
    }
    if (coloured)
      problems.push(`outline.png has ${coloured} pixels that are neither white nor transparent; Teams requires a white outline on a transparent background`);
    if (visible === 0) problems.push('outline.png is fully transparent');
  } else {
    let transparent = 0;
    for (let i = 3; i < image.data.length; i += 4) if (image.data[i]! < 255) transparent++;
    if (transparent) problems.push(`color.png has ${transparent} transparent pixels; the colour icon needs a solid background`);
  }
  return problems;
}

export class PackageInvalidError extends Error {
  constructor(readonly problems: string[]) {
    super(`The Teams app package is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PackageInvalidError';
  }
}

export interface BuiltPackage {
  zipPath: string;
  manifest: Record<string, unknown>;
}

/** Fills, validates and zips the package into `outDir` (appPackage/build by default). Throws PackageInvalidError listing every problem. */
export async function buildAppPackage(settings: PackageSettings, opts: { outDir?: string; sourceDir?: string } = {}): Promise<BuiltPackage> {
  const sourceDir = opts.sourceDir ?? APP_PACKAGE_DIR;
  const outDir = opts.outDir ?? path.join(APP_PACKAGE_DIR, 'build');
  const manifest = renderManifest(readFileSync(path.join(sourceDir, TEMPLATE_FILE), 'utf8'), settings);
  const problems = await validateManifest(manifest);
  const icons = manifest.icons as { color?: string; outline?: string } | undefined;
  const files: Record<string, Buffer> = {};
  for (const kind of ['color', 'outline'] as const) {
    const name = icons?.[kind];
    if (!name) continue; // reported by the schema
    const file = path.join(sourceDir, name);
    if (!existsSync(file)) {
      problems.push(`icons.${kind}: ${name} is not in ${sourceDir}`);
      continue;
    }
    files[name] = readFileSync(file);
    problems.push(...checkIcon(files[name]!, kind));
  }
  if (problems.length) throw new PackageInvalidError(problems);

  const zip = new JSZip();
  zip.file('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`, { date: ZIP_DATE });
  for (const [name, data] of Object.entries(files)) zip.file(name, data, { date: ZIP_DATE });
  const bytes = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
  mkdirSync(outDir, { recursive: true });
  const zipPath = path.join(outDir, `pim-approvals-${settings.version}.zip`);
  writeFileSync(zipPath, bytes);
  return { zipPath, manifest };
}
