/**
 * Renders `.m365agentsplayground.yml` for the Microsoft 365 Agents Playground (the Teams client we use for
 * the demo and end-to-end tests) from the seeded tenant, so the people who click in the playground are the
 * same people the simulator's Entra, Graph and PIM know (`aadObjectId` = the seed user's object id).
 *
 * The playground validates this file against a strict JSON schema (checked in
 * `@microsoft/m365agentsplayground` 0.2.28, `dist/index.js`): `version` "0.1.0" | "0.1.1"; `tenantId`;
 * `bot {id, name (<= 42 chars)}`; `currentUser`; `users` with exactly five entries; `personalChat {id}`;
 * `groupChat {id, name}`; `team {id, name, aadGroupId, channels (at most one {id, name})}`. Every user is
 * `{id, name, userPrincipleName, aadObjectId, givenName, surname, email}` (the schema spells it
 * "Principle"), and no other property is allowed anywhere. A file that fails the schema makes the playground
 * refuse to start, so `renderPlaygroundConfig` checks the same limits first and says what to fix.
 */
import type { SeedTenant, SeedUser } from '../sim/seed';

/**
 * Conversation ids the playground uses. They have the shapes real Teams uses, so code that inspects ids
 * (for example to tell a channel from a chat) behaves as it would in Teams:
 * - a team's id is the id of its General channel, `19:<hex>@thread.tacv2`;
 * - other channels are `19:<hex>@thread.tacv2` as well;
 * - group chats are `19:<hex>@thread.v2`;
 * - a personal (1:1) chat with a bot is `a:1<opaque>`.
 */
export const PLAYGROUND_TEAM_ID = '19:5f0c2b7e9a4d4c31b8e6a1d3f7c90e42@thread.tacv2';
/** The single extra channel the playground supports: where the bot posts approval cards. */
export const PLAYGROUND_CHANNEL_ID = '19:c3a91e5d0b7f4e6a9d2c8b1f4e7a6d53@thread.tacv2';
export const PLAYGROUND_CHANNEL_NAME = 'PIM Approvals';
export const PLAYGROUND_TEAM_NAME = 'Security Operations';
/** Entra group behind the team (what Graph calls the team's id). */
export const PLAYGROUND_TEAM_AAD_GROUP_ID = '3d8e2f41-6a7b-4c5d-9e0f-1a2b3c4d5e6f';
export const PLAYGROUND_GROUP_CHAT_ID = '19:8b4d6f2a1e3c4a5b9c7d0e2f4a6b8c1d@thread.v2';
export const PLAYGROUND_GROUP_CHAT_NAME = 'PIM on-call';
export const PLAYGROUND_PERSONAL_CHAT_ID = 'a:1pQ7zR2mK9vX4sL8nB3cT6wY0hJ5dF1gA7eU2iO9kM4qW8rE3tZ6yN0xC5vB1nH';

/** The playground's file name in its working directory (or set `M365_AGENTS_PLAYGROUND_CONFIG_PATH`). */
export const PLAYGROUND_CONFIG_FILE_NAME = '.m365agentsplayground.yml';
/** Teams user ids the playground shows: the current user first, then exactly five others. */
export const PLAYGROUND_USER_IDS = ['user-id-0', 'user-id-1', 'user-id-2', 'user-id-3', 'user-id-4', 'user-id-5'] as const;
export const PLAYGROUND_CURRENT_USER_ID = PLAYGROUND_USER_IDS[0];

const BOT_NAME_MAX = 42;
const NAME_MAX = 256;

export interface PlaygroundConfigOptions {
  seed: SeedTenant;
  /** The bot's id as the playground puts it in `recipient.id` (use the bot's app id). */
  botId: string;
  /** Display name, at most 42 characters. */
  botName: string;
  teamId?: string;
  teamName?: string;
  teamAadGroupId?: string;
  channelId?: string;
  channelName?: string;
  groupChatId?: string;
  groupChatName?: string;
  personalChatId?: string;
}

/** The parsed shape of the file, as `GET /_internal/v1/config` returns it under `config`. */
export interface PlaygroundUser {
  id: string;
  name: string;
  userPrincipleName: string;
  aadObjectId: string;
  givenName: string;
  surname: string;
  email: string;
}

export interface PlaygroundConfig {
  version: '0.1.1';
  tenantId: string;
  bot: { id: string; name: string };
  currentUser: PlaygroundUser;
  users: PlaygroundUser[];
  personalChat: { id: string };
  groupChat: { id: string; name: string };
  team: { id: string; name: string; aadGroupId: string; channels: Array<{ id: string; name: string }> };
}

function toPlaygroundUser(user: SeedUser): PlaygroundUser {
  return {
    id: user.teamsUserId,
    name: user.displayName,
    userPrincipleName: user.userPrincipalName,
    aadObjectId: user.id,
    givenName: user.givenName,
    surname: user.surname,
    email: user.userPrincipalName,
  };
}

/** Builds the config object; throws with a message that says what to change when the schema would refuse it. */
export function buildPlaygroundConfig(opts: PlaygroundConfigOptions): PlaygroundConfig {
  const byTeamsId = new Map(opts.seed.users.map((u) => [u.teamsUserId, u] as const));
  const users = PLAYGROUND_USER_IDS.map((teamsId) => {
    const user = byTeamsId.get(teamsId);
    if (!user) {
      throw new Error(`The playground needs a seed user with teamsUserId '${teamsId}' (it shows exactly six users: user-id-0..5).`);
    }
    return toPlaygroundUser(user);
  });
  if (opts.botName.length > BOT_NAME_MAX) {
    throw new Error(`Playground bot name '${opts.botName}' is ${opts.botName.length} characters; the playground allows at most ${BOT_NAME_MAX}.`);
  }
  for (const u of users) {
    for (const [field, value] of [
      ['name', u.name],
      ['givenName', u.givenName],
      ['surname', u.surname],
    ] as const) {
      if (value.length > NAME_MAX) throw new Error(`Seed user ${u.aadObjectId}: ${field} is longer than ${NAME_MAX} characters.`);
    }
  }
  const [currentUser, ...others] = users;
  return {
    version: '0.1.1',
    tenantId: opts.seed.tenantId,
    bot: { id: opts.botId, name: opts.botName },
    currentUser: currentUser!,
    users: others,
    personalChat: { id: opts.personalChatId ?? PLAYGROUND_PERSONAL_CHAT_ID },
    groupChat: { id: opts.groupChatId ?? PLAYGROUND_GROUP_CHAT_ID, name: opts.groupChatName ?? PLAYGROUND_GROUP_CHAT_NAME },
    team: {
      id: opts.teamId ?? PLAYGROUND_TEAM_ID,
      name: opts.teamName ?? PLAYGROUND_TEAM_NAME,
      aadGroupId: opts.teamAadGroupId ?? PLAYGROUND_TEAM_AAD_GROUP_ID,
      channels: [{ id: opts.channelId ?? PLAYGROUND_CHANNEL_ID, name: opts.channelName ?? PLAYGROUND_CHANNEL_NAME }],
    },
  };
}

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

/**
 * A small block-style YAML emitter. Strings are written as JSON strings, which YAML reads as double-quoted
 * scalars, so ids such as `19:...@thread.tacv2` or `a:1...` need no further escaping.
 */
function emit(value: Yaml, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      const [first, ...rest] = emit(item, `${indent}  `);
      return [`${indent}- ${first!.trimStart()}`, ...rest];
    });
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, v]) => {
      if (v !== null && typeof v === 'object' && !(Array.isArray(v) && v.length === 0)) {
        return [`${indent}${key}:`, ...emit(v, `${indent}  `)];
      }
      return [`${indent}${key}: ${scalar(v)}`];
    });
  }
  return [`${indent}${scalar(value)}`];
}

function scalar(v: Yaml): string {
  if (Array.isArray(v)) return '[]';
  return JSON.stringify(v);
}

/** The YAML text of `.m365agentsplayground.yml` for the seeded tenant. */
export function renderPlaygroundConfig(opts: PlaygroundConfigOptions): string {
  const config = buildPlaygroundConfig(opts);
  return ['# Generated by scripts/playground-config.ts from the seeded tenant; edits are overwritten.', ...emit(config as unknown as Yaml, ''), ''].join('\n');
}
