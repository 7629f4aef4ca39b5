/**
 * The Teams app package as `npm run package` builds it: filled from configuration, valid against the
 * manifest schema @microsoft/app-manifest bundles, with icons of the sizes Teams requires, and declaring
 * what the bot really does (its chat commands, the activity types it sends, SSO for its app id).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TurnContext } from 'botbuilder';
import JSZip from 'jszip';
import pino from 'pino';
import { PNG } from 'pngjs';
import { ChatCommands, type ChatCommandDeps } from '../../bot/chat/chat-commands';
import { APPROVAL_ACTIVITY_TYPE, approvalNotice } from '../../services/jobs/approver-feed';
import { DIGEST_ACTIVITY_TYPE, digestNotice } from '../../services/jobs/digests';
import type { EligibleTarget } from '../../services/elevation/types';
import { SIM_TEAMS_APP_ACTIVITY_TYPES } from '../../sim/graph-teamwork';
import {
  APP_PACKAGE_DIR,
  buildAppPackage,
  checkIcon,
  findPlaceholders,
  PackageInvalidError,
  TEMPLATE_FILE,
  validateManifest,
} from '../../scripts/package/app-package';
import { loadPackageSettings, PackageConfigError, stableManifestId } from '../../scripts/package/package-config';

const BOT_APP_ID = '3c1e6a52-8f0d-4b7a-9e21-5d4c3b2a1f09';
const MANIFEST_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const ENV = { BOT_APP_ID, PUBLIC_BASE_URL: 'https://pim-bot.contoso.example/', TEAMS_APP_MANIFEST_ID: MANIFEST_ID, TEAMS_APP_VERSION: '1.4.0' };

interface Manifest {
  $schema: string;
  manifestVersion: string;
  id: string;
  version: string;
  bots: Array<{
    botId: string;
    scopes: string[];
    supportsFiles: boolean;
    commandLists: Array<{ scopes: string[]; commands: Array<{ title: string; description: string }> }>;
  }>;
  webApplicationInfo: { id: string; resource: string };
  staticTabs: Array<{ entityId: string; name: string; contentUrl: string; scopes: string[] }>;
  validDomains: string[];
  activities: { activityTypes: Array<{ type: string; description: string; templateText: string }> };
  icons: { color: string; outline: string };
}

function solidPng(width: number, height: number, rgba: [number, number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < png.data.length; i += 4) png.data.set(rgba, i);
  return PNG.sync.write(png);
}

describe('the Teams app package', () => {
  let out: string;
  let zipPath: string;
  let zip: JSZip;
  let manifest: Manifest;
  let manifestText: string;

  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'pim-apppkg-'));
    ({ zipPath } = await buildAppPackage(loadPackageSettings(ENV), { outDir: out }));
    zip = await JSZip.loadAsync(readFileSync(zipPath));
    manifestText = await zip.file('manifest.json')!.async('string');
    manifest = JSON.parse(manifestText) as Manifest;
  });

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('is a flat zip of manifest.json and the two icons, named after the version', () => {
    expect(path.basename(zipPath)).toBe('pim-approvals-1.4.0.zip');
    expect(Object.keys(zip.files).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
  });

  it('validates against the bundled manifest schema, v1.19 or later', async () => {
    expect(manifest.$schema).toMatch(/^https:\/\/developer\.microsoft\.com\/json-schemas\/teams\/v1\.\d+\/MicrosoftTeams\.schema\.json$/);
    const [major, minor] = manifest.manifestVersion.split('.').map(Number);
    expect(major === 1 && minor! >= 19).toBe(true);
    expect(await validateManifest(manifest as unknown as Record<string, unknown>)).toEqual([]);
  });

  it('fills every id from configuration and leaves no placeholder', () => {
    expect(findPlaceholders(manifestText)).toEqual([]);
    expect(findPlaceholders(readFileSync(path.join(APP_PACKAGE_DIR, TEMPLATE_FILE), 'utf8')).length).toBeGreaterThan(0);
    expect(manifest.id).toBe(MANIFEST_ID);
    expect(manifest.version).toBe('1.4.0');
    expect(manifest.bots[0]!.botId).toBe(BOT_APP_ID);
    expect(manifest.webApplicationInfo).toEqual({ id: BOT_APP_ID, resource: `api://botid-${BOT_APP_ID}` });
    expect(manifest.validDomains).toContain('pim-bot.contoso.example');
    expect(manifest.validDomains).toContain('token.botframework.com');
  });

  it('adds the PIM personal tab, served by the bot at /tab/ on a valid domain', () => {
    expect(manifest.staticTabs).toEqual([{ entityId: 'pim', name: 'PIM', contentUrl: 'https://pim-bot.contoso.example/tab/', scopes: ['personal'] }]);
    expect(manifest.validDomains).toContain(new URL(manifest.staticTabs[0]!.contentUrl).host);
  });

  it('puts the bot in the personal and team scopes, without files', () => {
    expect([...manifest.bots[0]!.scopes].sort()).toEqual(['personal', 'team']);
    expect(manifest.bots[0]!.supportsFiles).toBe(false);
  });

  it('ships icons of the sizes Teams requires: 192x192 colour, 32x32 white-on-transparent outline', async () => {
    const color = await zip.file(manifest.icons.color)!.async('nodebuffer');
    const outline = await zip.file(manifest.icons.outline)!.async('nodebuffer');
    expect(checkIcon(color, 'color')).toEqual([]);
    expect(checkIcon(outline, 'outline')).toEqual([]);
    expect(PNG.sync.read(color)).toMatchObject({ width: 192, height: 192 });
    expect(PNG.sync.read(outline)).toMatchObject({ width: 32, height: 32 });
  });

  it('declares exactly the activity types the bot sends, with the template parameters it fills', () => {
    const declared = manifest.activities.activityTypes;
    expect(declared.map((t) => t.type)).toEqual([DIGEST_ACTIVITY_TYPE, APPROVAL_ACTIVITY_TYPE]);
    const row = {
      principal_id: 'u1',
      display: JSON.stringify({ requester: { displayName: 'Isaiah Langer' }, roleDisplayName: 'User Administrator', approverIds: [] }),
    };
    const notices = [
      digestNotice({ ending: [{}], endingToday: [] } as never, 'https://teams.microsoft.com/l/chat/0/0'),
      approvalNotice(row as never, 'https://teams.microsoft.com/l/message/19%3Ac/1'),
    ];
    expect(notices.map((n) => n.activityType)).toEqual([DIGEST_ACTIVITY_TYPE, APPROVAL_ACTIVITY_TYPE]);
    for (const notice of notices) {
      const template = declared.find((t) => t.type === notice.activityType)!.templateText;
      const params = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).filter((p) => p !== 'actor');
      expect(params.sort()).toEqual(Object.keys(notice.templateParameters ?? {}).sort());
    }
    // The simulator's Graph refuses undeclared types: it must declare what the real app declares.
    for (const t of declared) expect(SIM_TEAMS_APP_ACTIVITY_TYPES).toContainEqual(expect.objectContaining({ type: t.type, templateText: t.templateText }));
  });

  describe('its command list', () => {
    const eligible: EligibleTarget[] = [
      { kind: 'entraRole', roleDefinitionId: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f', scope: '/', displayName: 'Security Operator', eligibleUntil: null },
    ];

    /** What the bot answers in the personal chat when a signed-in user types `text`. */
    async function replyTo(text: string): Promise<string[]> {
      const replies: string[] = [];
      const deps = {
        store: {
          chat: { requestsOf: async () => [], insertDraft: async () => undefined, savePending: async () => undefined },
          requests: { waiting: async () => [] },
        },
        directory: { roleNames: async () => ['Global Administrator', 'Security Operator'] },
        signIn: { token: async () => 'sso-token' },
        reminders: { remindNow: async () => 'I nudged the approvers.' },
        selfServiceFor: () => ({ eligible: async () => eligible, active: async () => [], pendingRequests: async () => [] }),
        log: pino({ level: 'silent' }),
        now: () => new Date('2025-06-02T10:00:00Z'),
      } as unknown as ChatCommandDeps;
      const ctx = {
        activity: {
          type: 'message',
          text,
          from: { id: 'u', aadObjectId: '0c5d3a9e-2f4b-4d8e-9a1c-7b6e5f4d3c2b' },
          conversation: { id: 'c', conversationType: 'personal' },
          localTimezone: 'UTC',
        },
        sendActivity: async (a: string | { text?: string; attachments?: unknown[] }) => {
          replies.push(typeof a === 'string' ? a : (a.text ?? JSON.stringify(a.attachments ?? a)));
          return { id: String(replies.length) };
        },
      } as unknown as TurnContext;
      await new ChatCommands(deps).onMessage(ctx);
      return replies;
    }

    const notUnderstood = (replies: string[]) => replies.length === 0 || replies.some((r) => r.startsWith('I did not understand'));

    it('lists only commands the bot understands in the personal chat', async () => {
      const personal = manifest.bots[0]!.commandLists.find((l) => l.scopes.includes('personal'))!;
      expect(personal.commands.length).toBeGreaterThan(0);
      const refused: string[] = [];
      for (const c of personal.commands) if (notUnderstood(await replyTo(c.title))) refused.push(c.title);
      expect(refused).toEqual([]);
    });

    it('would catch a command the bot does not understand', async () => {
      expect(notUnderstood(await replyTo('frobnicate'))).toBe(true);
    });

    it('offers every command the help text teaches, within the limits Teams shows', () => {
      const titles = manifest.bots[0]!.commandLists.flatMap((l) => l.commands.map((c) => c.title));
      for (const word of ['activate', 'roles', 'status', 'cancel', 'extend', 'help']) expect(titles).toContain(word);
      for (const l of manifest.bots[0]!.commandLists) {
        expect(l.commands.length).toBeLessThanOrEqual(10);
        for (const c of l.commands) {
          expect(c.title.length).toBeLessThanOrEqual(32);
          expect(c.description.length).toBeLessThanOrEqual(128);
        }
      }
    });
  });

  describe('its checks', () => {
    it('reject an icon of the wrong size', () => {
      expect(checkIcon(solidPng(96, 96, [43, 76, 196, 255]), 'color')).toEqual(['color.png is 96x96; the full-colour icon must be 192x192']);
      expect(checkIcon(solidPng(48, 48, [255, 255, 255, 255]), 'outline')).toEqual([
        'outline.png is 48x48; the outline icon (white on transparent) must be 32x32',
      ]);
    });

    it('reject an outline icon with colour in it, and a colour icon with transparency', () => {
      expect(checkIcon(solidPng(32, 32, [43, 76, 196, 255]), 'outline')).toEqual([expect.stringContaining('neither white nor transparent')]);
      expect(checkIcon(solidPng(192, 192, [43, 76, 196, 0]), 'color')).toEqual([expect.stringContaining('transparent pixels')]);
      expect(checkIcon(Buffer.from('not a png'), 'color')).toEqual([expect.stringContaining('is not a PNG')]);
    });

    it('reject a manifest that breaks the schema, or is on a schema that is not bundled', async () => {
      const broken = { ...manifest, bots: [{ ...manifest.bots[0]!, scopes: ['everywhere'] }] };
      expect((await validateManifest(broken as unknown as Record<string, unknown>)).join('\n')).toMatch(/scopes/);
      const old = { ...manifest, $schema: 'https://developer.microsoft.com/json-schemas/teams/v1.18/MicrosoftTeams.schema.json', manifestVersion: '1.18' };
      expect(await validateManifest(old as unknown as Record<string, unknown>)).toEqual([
        expect.stringContaining('not a Teams manifest schema that @microsoft/app-manifest bundles'),
      ]);
      const older = { ...manifest, $schema: 'https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json', manifestVersion: '1.17' };
      expect(await validateManifest(older as unknown as Record<string, unknown>)).toEqual(['manifestVersion 1.17 is older than 1.19']);
    });

    it('refuse to build from a template whose icon is the wrong size', async () => {
      const src = mkdtempSync(path.join(tmpdir(), 'pim-apppkg-src-'));
      try {
        const { writeFileSync, copyFileSync } = await import('node:fs');
        copyFileSync(path.join(APP_PACKAGE_DIR, TEMPLATE_FILE), path.join(src, TEMPLATE_FILE));
        copyFileSync(path.join(APP_PACKAGE_DIR, 'outline.png'), path.join(src, 'outline.png'));
        writeFileSync(path.join(src, 'color.png'), solidPng(100, 100, [43, 76, 196, 255]));
        const built = buildAppPackage(loadPackageSettings(ENV), { outDir: src, sourceDir: src });
        await expect(built).rejects.toBeInstanceOf(PackageInvalidError);
        await expect(built).rejects.toThrow('color.png is 100x100');
      } finally {
        rmSync(src, { recursive: true, force: true });
      }
    });
  });

  describe('its configuration', () => {
    it('names each missing or wrong variable and what it must be', () => {
      const attempt = () => loadPackageSettings({ BOT_APP_ID: 'not-a-guid', PUBLIC_BASE_URL: 'http://pim-bot.contoso.example', TEAMS_APP_VERSION: 'v2' });
      expect(attempt).toThrow(PackageConfigError);
      expect(attempt).toThrow(/BOT_APP_ID: must be a GUID/);
      expect(attempt).toThrow(/PUBLIC_BASE_URL: must be an https URL/);
      expect(attempt).toThrow(/TEAMS_APP_VERSION: must be MAJOR\.MINOR\.PATCH/);
      expect(() => loadPackageSettings({})).toThrow(/BOT_APP_ID: required[\s\S]*PUBLIC_BASE_URL: required/);
    });

    it('derives a manifest id that stays the same for one bot when TEAMS_APP_MANIFEST_ID is unset', () => {
      const a = loadPackageSettings({ BOT_APP_ID, PUBLIC_BASE_URL: 'https://pim-bot.contoso.example' });
      expect(a.manifestIdDerived).toBe(true);
      expect(a.manifestId).toBe(stableManifestId(BOT_APP_ID));
      expect(a.manifestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(stableManifestId(BOT_APP_ID.toUpperCase())).toBe(a.manifestId);
      expect(stableManifestId('00000000-0000-4000-8000-000000000000')).not.toBe(a.manifestId);
      expect(a.developer).toEqual({
        name: 'IT Security',
        websiteUrl: 'https://pim-bot.contoso.example',
        privacyUrl: 'https://pim-bot.contoso.example',
        termsOfUseUrl: 'https://pim-bot.contoso.example',
      });
    });
  });
});
