import { type Attachment, CardFactory, type TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import {
  approverSsoToken,
  identityRefusalLog,
  proveUser,
  userTokenClient,
  type SsoOptions,
  type SsoResult,
  type UserTokenResult,
} from '../teams/approver-token';

/**
 * Teams' sign-in and token service calls for the user in this turn (see approver-token.ts). Every token
 * comes proven to be the acting user's (`oid` = the activity's `from.aadObjectId`, the bot's tenant), or
 * as the refusal to tell them.
 */
export interface ChatSignIn {
  /** The user's token if the token service already holds one. */
  token(ctx: TurnContext): Promise<UserTokenResult | undefined>;
  /** An OAuth card that signs the user in (with Teams SSO token exchange where Teams can). */
  signInCard(ctx: TurnContext, text: string): Promise<Attachment>;
  /** For Action.Execute: the token, or the invoke response that makes Teams sign the user in. */
  invokeToken(ctx: TurnContext): Promise<SsoResult>;
  /** `signin/tokenExchange`: exchanges the SSO token Teams sent; undefined when it cannot (Teams then shows the sign-in card). */
  exchange(ctx: TurnContext): Promise<UserTokenResult | undefined>;
  /** `signin/verifyState`: the token for the magic code of a completed sign-in. */
  verifyState(ctx: TurnContext): Promise<UserTokenResult | undefined>;
  /** Drops the stored token, so the next sign-in is interactive (MFA, authentication context). */
  signOut(ctx: TurnContext): Promise<void>;
}

/**
 * Teams SSO for the personal chat through the Bot Framework token service: an OAuth card carrying the
 * token exchange resource (Teams answers with `signin/tokenExchange`), the sign-in link as fallback
 * (Teams answers with `signin/verifyState`), and `loginRequest` for card actions. Every token handed to
 * the chat proves the user Teams says is acting (approver-token.ts `proveUser`); a refusal is logged here,
 * once.
 */
export class TokenServiceSignIn implements ChatSignIn {
  constructor(
    private readonly options: SsoOptions,
    private readonly log?: Logger,
  ) {}

  private client(ctx: TurnContext) {
    return userTokenClient(ctx, this.options);
  }

  /** The token proven to be the acting user's, the refusal, or undefined when there is none. */
  private async proven(ctx: TurnContext, token: string | undefined): Promise<UserTokenResult | undefined> {
    if (!token) return undefined;
    return this.logged(ctx, await proveUser(ctx, this.client(ctx), this.options, token));
  }

  private logged<T extends SsoResult>(ctx: TurnContext, r: T): T {
    if (r.kind === 'identityRefused') {
      this.log?.warn(
        { ...identityRefusalLog(ctx, r), activity: ctx.activity.name ?? ctx.activity.type },
        'refused: the sign-in does not prove the user who acted; nothing was sent to PIM',
      );
    }
    return r;
  }

  async token(ctx: TurnContext): Promise<UserTokenResult | undefined> {
    const r = await this.client(ctx)
      .getUserToken(ctx.activity.from.id, this.options.connectionName, ctx.activity.channelId, '')
      .catch(() => undefined);
    return this.proven(ctx, r?.token || undefined);
  }

  async signInCard(ctx: TurnContext, text: string): Promise<Attachment> {
    const resource = await this.client(ctx).getSignInResource(this.options.connectionName, ctx.activity, '');
    return CardFactory.oauthCard(this.options.connectionName, 'Sign in', text, resource.signInLink, resource.tokenExchangeResource);
  }

  async invokeToken(ctx: TurnContext): Promise<SsoResult> {
    return this.logged(ctx, await approverSsoToken(ctx, this.options, 'Sign in so your request goes to PIM as you'));
  }

  async exchange(ctx: TurnContext): Promise<UserTokenResult | undefined> {
    const value = (ctx.activity.value ?? {}) as { token?: string; connectionName?: string };
    if (!value.token) return undefined;
    const r = await this.client(ctx)
      .exchangeToken(ctx.activity.from.id, this.options.connectionName, ctx.activity.channelId, { token: value.token })
      .catch(() => undefined);
    return this.proven(ctx, r?.token || undefined);
  }

  async verifyState(ctx: TurnContext): Promise<UserTokenResult | undefined> {
    const state = String((ctx.activity.value as { state?: string } | undefined)?.state ?? '');
    if (!state) return undefined;
    const r = await this.client(ctx)
      .getUserToken(ctx.activity.from.id, this.options.connectionName, ctx.activity.channelId, state)
      .catch(() => undefined);
    return this.proven(ctx, r?.token || undefined);
  }

  async signOut(ctx: TurnContext): Promise<void> {
    await this.client(ctx).signOutUser(ctx.activity.from.id, this.options.connectionName, ctx.activity.channelId);
  }
}
