/**
 * Reaching a user the bot has no personal chat with: install the bot's Teams app for them through
 * Microsoft Graph and read the 1:1 chat id (a Bot Framework conversation reference the bot can continue),
 * or, when the tenant's app permission policy blocks the installation, an activity feed notification.
 *
 * Graph application permissions: AppCatalog.Read.All (find the app's catalog id from its manifest id),
 * TeamsAppInstallation.ReadWriteSelfForUser.All (install, list, chat) and TeamsActivity.Send (notify).
 * The Teams app must be in the org catalog and its manifest must name the bot's Entra app in
 * `webApplicationInfo` and declare the activity types used (see appPackage/README.md).
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import type { ConversationReference } from 'botbuilder';
import pino, { type Logger } from 'pino';
import { GraphCallError, toGraphCallError } from '../graph/graph-errors';

export interface PersonalChatsOptions {
  /** The Teams app's manifest `id` (Graph's `externalId`). */
  manifestId: string;
  /** The bot's Microsoft App ID (its Entra app id). */
  botAppId: string;
  tenantId: string;
  /** Bot Framework service URL for the tenant's Teams region, e.g. https://smba.trafficmanager.net/teams/. */
  serviceUrl: string;
  log?: Logger;
}

export type OpenChatResult =
  | { kind: 'chat'; reference: Partial<ConversationReference>; chatId: string; installedNow: boolean }
  | { kind: 'blocked'; reason: string };

export interface ActivityNotice {
  /** Declared in the manifest's `activities.activityTypes` (or the reserved `systemDefault`). */
  activityType: string;
  /** Teams shows the first 150 characters; longer text is cut with an ellipsis here. */
  previewText: string;
  /** The notification's topic line (`topic.source: 'text'`). */
  topicText: string;
  /** Where selecting the notification leads, e.g. webUrlForBotChat(). */
  webUrl: string;
  /** Values for the `{parameters}` of the activity type's templateText. */
  templateParameters?: Record<string, string>;
}

export type NotifyResult = 'sent' | 'not-reachable';

const PREVIEW_SHOWN_CHARS = 150;

/**
 * The Teams deep link that opens the user's personal chat with the bot. Teams addresses a bot as
 * `28:{Microsoft App ID}` (documented in the Teams "copilot handoff" deep link
 * `https://teams.microsoft.com/l/chat/0/0?users=28:{botId}`).
 */
export function webUrlForBotChat(botAppId: string): string {
  return `https://teams.microsoft.com/l/chat/0/0?users=28:${botAppId}`;
}

/** True for failures worth retrying later: throttling, Graph outages, timeouts, an unreachable Graph. */
export function isTransientGraphError(err: unknown): boolean {
  const status = err instanceof GraphCallError ? err.status : undefined;
  return status === undefined || status === 429 || status >= 500;
}

/** A 403 for a token without the permission the API needs: a setup error, not the user's policy. */
const isMissingPermission = (e: GraphCallError) => /missing (role|scope) permissions/i.test(e.message);

interface Installation {
  id: string;
}

export class GraphPersonalChats {
  private readonly log: Logger;
  private catalogIdPromise: Promise<string> | undefined;

  constructor(
    private readonly graph: Client,
    private readonly opts: PersonalChatsOptions,
  ) {
    for (const k of ['manifestId', 'botAppId', 'tenantId', 'serviceUrl'] as const) {
      if (!opts[k]?.trim()) throw new Error(`GraphPersonalChats: ${k} is required`);
    }
    this.log = opts.log ?? pino({ level: 'silent' });
  }

  /** The deep link to the user's chat with this bot. */
  webUrlForBotChat(): string {
    return webUrlForBotChat(this.opts.botAppId);
  }

  /**
   * The org catalog's id for the app (cached; a failed lookup is asked again next time). Throws when the
   * app is not in the catalog: Graph installs only apps published to the org catalog or the Teams Store.
   */
  catalogId(): Promise<string> {
    if (!this.catalogIdPromise) {
      this.catalogIdPromise = this.lookUpCatalogId();
      this.catalogIdPromise.catch(() => {
        this.catalogIdPromise = undefined;
      });
    }
    return this.catalogIdPromise;
  }

  private async lookUpCatalogId(): Promise<string> {
    let res: { value?: Array<{ id?: string; externalId?: string }> };
    try {
      res = await this.graph
        .api('/appCatalogs/teamsApps')
        .filter(`externalId eq '${odataString(this.opts.manifestId)}'`)
        .get();
    } catch (err) {
      const e = toGraphCallError(err, 'Looking up the Teams app in the org catalog');
      if (e.status === 403) {
        throw new GraphCallError(403, e.code, `${e.message} (the bot's app registration needs the AppCatalog.Read.All application permission)`, e.requestId);
      }
      throw e;
    }
    const id = res.value?.find((a) => typeof a.id === 'string' && a.id)?.id;
    if (!id) {
      throw new GraphCallError(
        404,
        'TeamsAppNotInCatalog',
        `The Teams app with manifest id ${this.opts.manifestId} is not in the org catalog: publish the app to the org catalog (Teams admin center, Manage apps, Upload new app) so Graph can install it for users.`,
      );
    }
    return id;
  }

  /**
   * A conversation reference for the user's 1:1 chat with the bot, installing the bot's Teams app for the
   * user first when needed. `blocked` when Graph refuses the installation with 403 (the tenant's app
   * permission policy). Throws GraphCallError otherwise: transient ones (see isTransientGraphError) are
   * worth a retry; a 403 for a missing Graph permission, or a 404 for an unknown user, are not.
   */
  async openChat(userId: string): Promise<OpenChatResult> {
    const appId = await this.catalogId();
    let installation = await this.findInstallation(userId, appId);
    let installedNow = false;
    if (!installation) {
      try {
        await this.graph.api(`/users/${encodeURIComponent(userId)}/teamwork/installedApps`).post({
          'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${appId}`,
        });
        installedNow = true;
        this.log.info({ userId }, 'installed the Teams app for a user');
      } catch (err) {
        const e = toGraphCallError(err, 'Installing the Teams app for the user');
        if (e.status === 403 && !isMissingPermission(e)) {
          this.log.warn({ userId, code: e.code, requestId: e.requestId }, 'Teams app installation refused for a user');
          return { kind: 'blocked', reason: e.message };
        }
        // 409: installed meanwhile (another worker, or the user); the lookup below finds it.
        if (e.status !== 409) throw this.logged(userId, e);
      }
      // A 201 carries no body: read the installation back for its id.
      installation = await this.findInstallation(userId, appId);
      if (!installation) {
        throw this.logged(
          userId,
          new GraphCallError(503, 'InstallationNotVisible', 'Installing the Teams app for the user: Graph accepted the installation but does not list it yet.'),
        );
      }
    }
    const chatId = await this.chatId(userId, installation.id, installedNow);
    return {
      kind: 'chat',
      chatId,
      installedNow,
      reference: {
        channelId: 'msteams',
        serviceUrl: this.opts.serviceUrl,
        conversation: { id: chatId, conversationType: 'personal', tenantId: this.opts.tenantId, isGroup: false, name: '' },
        // Teams addresses bots as 28:{Microsoft App ID}.
        bot: { id: `28:${this.opts.botAppId}`, name: '' },
        // Graph gives no Teams user id (29:...); the AAD object id is what the bot keys users by.
        user: { id: '', aadObjectId: userId, name: '' },
      },
    };
  }

  /**
   * Graph's id of the user's 1:1 chat with the bot, without installing anything: undefined when the app is
   * not installed for the user. Throws GraphCallError when Graph cannot be read.
   */
  async existingChatId(userId: string): Promise<string | undefined> {
    const installation = await this.findInstallation(userId, await this.catalogId());
    return installation ? this.chatId(userId, installation.id, false) : undefined;
  }

  /**
   * An activity feed notification from the bot's Teams app. `not-reachable` when Graph answers 403 or 404
   * (the app is not installed for the user, personally or in a team or chat they are in, or the user is
   * unknown). Throws GraphCallError for anything else, e.g. throttling or an outage (transient), a missing
   * TeamsActivity.Send permission or an undeclared activity type (not transient).
   */
  async notify(userId: string, notice: ActivityNotice): Promise<NotifyResult> {
    const teamsAppId = await this.catalogId();
    const preview = notice.previewText.length > PREVIEW_SHOWN_CHARS ? `${notice.previewText.slice(0, PREVIEW_SHOWN_CHARS - 1)}…` : notice.previewText;
    try {
      await this.graph.api(`/users/${encodeURIComponent(userId)}/teamwork/sendActivityNotification`).post({
        topic: { source: 'text', value: notice.topicText, webUrl: notice.webUrl },
        activityType: notice.activityType,
        previewText: { content: preview },
        templateParameters: Object.entries(notice.templateParameters ?? {}).map(([name, value]) => ({ name, value })),
        teamsAppId,
      });
      this.log.info({ userId, activityType: notice.activityType }, 'activity feed notification sent');
      return 'sent';
    } catch (err) {
      const e = toGraphCallError(err, 'Sending a Teams activity feed notification');
      if ((e.status === 403 && !isMissingPermission(e)) || e.status === 404) {
        this.log.info({ userId, status: e.status, code: e.code, requestId: e.requestId }, 'activity feed notification cannot reach the user');
        return 'not-reachable';
      }
      throw this.logged(userId, e);
    }
  }

  private async findInstallation(userId: string, appId: string): Promise<Installation | undefined> {
    try {
      const res = (await this.graph
        .api(`/users/${encodeURIComponent(userId)}/teamwork/installedApps`)
        .expand('teamsApp')
        .filter(`teamsApp/id eq '${odataString(appId)}'`)
        .get()) as { value?: Array<{ id?: string; teamsApp?: { id?: string } }> };
      const hit = res.value?.find((i) => typeof i.id === 'string' && i.id && (!i.teamsApp?.id || i.teamsApp.id.toLowerCase() === appId.toLowerCase()));
      return hit ? { id: hit.id! } : undefined;
    } catch (err) {
      throw this.logged(userId, toGraphCallError(err, "Listing the user's installed Teams apps"));
    }
  }

  private async chatId(userId: string, installationId: string, installedNow: boolean): Promise<string> {
    try {
      const chat = (await this.graph.api(`/users/${encodeURIComponent(userId)}/teamwork/installedApps/${encodeURIComponent(installationId)}/chat`).get()) as {
        id?: string;
      };
      if (!chat?.id) throw new GraphCallError(502, 'NoChatId', 'Reading the chat between the user and the bot: Graph returned no chat id.');
      return chat.id;
    } catch (err) {
      const e = toGraphCallError(err, 'Reading the chat between the user and the bot');
      // Right after an installation the chat may not exist yet: worth a retry, not a failure.
      if (e.status === 404 && installedNow) throw this.logged(userId, new GraphCallError(503, 'ChatNotReady', e.message, e.requestId));
      throw this.logged(userId, e);
    }
  }

  private logged(userId: string, e: GraphCallError): GraphCallError {
    this.log.warn({ userId, status: e.status, code: e.code, requestId: e.requestId }, e.message);
    return e;
  }
}

/** Quotes inside an OData string literal are doubled. */
function odataString(v: string): string {
  return v.replace(/'/g, "''");
}

/** The personal chats with users the bot has none with yet (installing its Teams app through Graph); null when TEAMS_APP_* is not configured. */
export function personalChatsFor(
  config: { teamsApp: { manifestId: string; serviceUrl: string } | null; bot: { appId: string }; tenantId: string },
  graph: Client,
  log: Logger,
): GraphPersonalChats | null {
  return config.teamsApp
    ? new GraphPersonalChats(graph, {
        manifestId: config.teamsApp.manifestId,
        botAppId: config.bot.appId,
        tenantId: config.tenantId,
        serviceUrl: config.teamsApp.serviceUrl,
        log,
      })
    : null;
}
