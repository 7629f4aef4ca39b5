import type { SimContext } from './context';
import { json, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import { USER, type SeedUser } from './seed';
import { applySelect, contextUrl, graphCaller, graphError, isResponse, type GraphCaller } from './graph-common';
import { stableGuid } from './graph-directory';

/** Mailbox regional settings of a seeded user, as the user (or an admin) set them in Outlook. */
export interface SimMailboxSettings {
  /** A Windows time zone id (Exchange's default format) or an IANA name; absent until the user picks one. */
  timeZone?: string;
  locale: string;
  localeName: string;
}

/**
 * Seeded users' settings. Users not listed have a mailbox whose time zone was never set: Graph then
 * leaves `timeZone` out of the response (Microsoft's Graph samples had to guard against exactly that).
 */
export const SEED_MAILBOX_SETTINGS: Readonly<Record<string, SimMailboxSettings>> = {
  [USER.alex]: { timeZone: 'Pacific Standard Time', locale: 'en-US', localeName: 'English (United States)' },
  [USER.megan]: { timeZone: 'W. Europe Standard Time', locale: 'de-DE', localeName: 'German (Germany)' },
  [USER.adele]: { timeZone: 'GMT Standard Time', locale: 'en-GB', localeName: 'English (United Kingdom)' },
  [USER.isaiah]: { timeZone: 'Eastern Standard Time', locale: 'en-US', localeName: 'English (United States)' },
  [USER.patti]: { timeZone: 'India Standard Time', locale: 'en-IN', localeName: 'English (India)' },
  [USER.lynne]: { timeZone: 'AUS Eastern Standard Time', locale: 'en-AU', localeName: 'English (Australia)' },
};

const UNSET: SimMailboxSettings = { locale: 'en-US', localeName: 'English (United States)' };
const READ_PERMISSIONS = ['MailboxSettings.Read', 'MailboxSettings.ReadWrite'];

function mailboxSettings(u: SeedUser, s: SimMailboxSettings): Record<string, unknown> {
  return {
    archiveFolder: Buffer.from(stableGuid(`archive:${u.id}`)).toString('base64url'),
    ...(s.timeZone ? { timeZone: s.timeZone } : {}),
    automaticRepliesSetting: {
      status: 'disabled',
      externalAudience: 'all',
      internalReplyMessage: '',
      externalReplyMessage: '',
      scheduledStartDateTime: { dateTime: '2026-01-01T00:00:00.0000000', timeZone: 'UTC' },
      scheduledEndDateTime: { dateTime: '2026-01-02T00:00:00.0000000', timeZone: 'UTC' },
    },
    language: { locale: s.locale, displayName: s.localeName },
    dateFormat: s.locale === 'en-US' ? 'M/d/yyyy' : 'dd/MM/yyyy',
    timeFormat: s.locale === 'en-US' ? 'h:mm tt' : 'HH:mm',
    workingHours: {
      daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
      startTime: '08:00:00.0000000',
      endTime: '17:00:00.0000000',
      timeZone: { name: s.timeZone ?? 'UTC' },
    },
    userPurpose: { value: 'user' },
    delegateMeetingMessageDeliveryOptions: 'sendToDelegateOnly',
  };
}

/** An app needs MailboxSettings.Read(Write) as an application permission, a user as a delegated scope. */
function hasPermission(caller: GraphCaller): boolean {
  return (caller.kind === 'app' ? caller.roles : caller.scopes).some((p) => READ_PERMISSIONS.includes(p));
}

/** GET /users/{id|upn}/mailboxSettings and /me/mailboxSettings, v1.0 and beta, `$select` honoured. */
export function registerGraphMailbox(router: Router, ctx: SimContext, settings: Readonly<Record<string, SimMailboxSettings>> = SEED_MAILBOX_SETTINGS): void {
  const answer = async (req: SimRequest, idOrUpn: string | undefined, fragment: (u: SeedUser) => string): Promise<SimResponse> => {
    const caller = await graphCaller(ctx, req);
    if (isResponse(caller)) return caller;
    if (idOrUpn === undefined && caller.kind === 'app') {
      return graphError(req, 400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
    }
    const denied = () => graphError(req, 403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
    if (!hasPermission(caller)) return denied();
    const u = ctx.state.user(idOrUpn ?? caller.oid);
    if (!u) return graphError(req, 404, 'ErrorInvalidUser', `The requested user '${idOrUpn ?? caller.oid}' is invalid.`);
    // A user reads only their own mailbox settings; another's would need Exchange delegation.
    if (caller.kind === 'user' && caller.oid !== u.id) return denied();
    const body = mailboxSettings(u, settings[u.id] ?? UNSET);
    return json(200, { '@odata.context': contextUrl(req, fragment(u)), ...applySelect(body, req.query.get('$select')) });
  };
  for (const v of ['v1.0', 'beta']) {
    router.add('GET', `/${v}/users/:id/mailboxSettings`, (req, p) => answer(req, p.id, (u) => `users('${u.id}')/mailboxSettings`));
    router.add('GET', `/${v}/me/mailboxSettings`, (req) => answer(req, undefined, () => 'Me/mailboxSettings'));
  }
}
