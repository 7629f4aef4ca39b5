import { Attachment, CardFactory, TurnContext } from 'botbuilder';
import { approverSsoToken, userTokenClient, type SsoOptions } from '../approver-token';
import type { ChatSignIn } from './chat-commands';

/**
 * Teams SSO for the personal chat through the Bot Framework token service: an OAuth card carrying the
 * token exchange resource (Teams answers with `signin/tokenExchange`), the sign-in link as fallback
 * (Teams answers with `signin/verifyState`), and `loginRequest` for card actions.
 */
export class TokenServiceSignIn implements ChatSignIn {
  constructor(private readonly options: SsoOptions) {}

  private client(ctx: TurnContext) {
    return userTokenClient(ctx, this.options);
  }

  async token(ctx: TurnContext): Promise<string | undefined> {
    const r = await this.client(ctx)
      .getUserToken(ctx.activity.from.id, this.options.connectionName, ctx.activity.channelId, '')
      .catch(() => undefined);
    return r?.token || undefined;
  }

  async signInCard(ctx: TurnContext, text: string): Promise<Attachment> {
    const resource = await this.client(ctx).getSignInResource(this.options.connectionName, ctx.activity, '');
    return CardFactory.oauthCard(this.options.connectionName, 'Sign in', text, resource.signInLink, resource.tokenExchangeResource);
  }

  invokeToken(ctx: TurnContext) {
    return approverSsoToken(ctx, this.options, 'Sign in so your request goes to PIM as you');
  }

  async exchange(ctx: TurnContext): Promise<string | undefined> {
    const value = (ctx.activity.value ?? {}) as { token?: string; connectionName?: string };
    if (!value.token) return undefined;
    const r = await this.client(ctx)
      .exchangeToken(ctx.activity.from.id, this.options.connectionName, ctx.activity.channelId, { token: value.token })
      .catch(() => undefined);
    return r?.token || undefined;
  }

  async verifyState(ctx: TurnContext): Promise<string | undefined> {
    const state = String((ctx.activity.value as { state?: string } | undefined)?.state ?? '');
    if (!state) return undefined;
    const r = await this.client(ctx)
      .getUserToken(ctx.activity.from.id, this.options.connectionName, ctx.activity.channelId, state)
      .catch(() => undefined);
    return r?.token || undefined;
  }

  async signOut(ctx: TurnContext): Promise<void> {
    await this.client(ctx).signOutUser(ctx.activity.from.id, this.options.connectionName, ctx.activity.channelId);
  }
}
