import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SimContext } from './context';
import { headerValue, json, jsonBody, type SimResponse } from './http';
import type { Router } from './router';

/**
 * Azure OpenAI's chat completions contract (`POST /openai/deployments/{deployment}/chat/completions`,
 * `api-key` header) on the simulator's HTTPS origin. A simulator cannot understand language, so the
 * assistant's replies are scripted through the control API and served first in, first out.
 */

/** The demo's Azure OpenAI settings: endpoint = the simulator URL. `sim-only-` is refused in production. */
export const SIM_OPENAI = {
  deployment: 'gpt-4o-mini',
  apiKey: 'sim-only-openai-key',
  apiVersion: '2024-10-21',
  /** What Azure reports as `model` for the deployment. */
  model: 'gpt-4o-mini-2024-07-18',
} as const;

export const OPENAI_PREFIX = '/openai';

/** With nothing scripted the assistant finds no command, so a client falls back to its own parsing. */
export const NO_COMMAND_REPLY = JSON.stringify({
  command: 'none',
  role: null,
  durationMinutes: null,
  ticketSystem: null,
  ticketNumber: null,
  justification: null,
});

/** One chat completion call as the control API shows it: sizes and names, never the prompt itself. */
export interface OpenAiCallRecord {
  time: string;
  deployment: string;
  apiVersion: string | null;
  status: number;
  messageCount: number;
  /** Characters across all messages. */
  promptChars: number;
  /** Seeded role, group and Azure role names that appear in the system messages. */
  namesInSystemMessages: string[];
  jsonMode: boolean;
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

/** Azure's own bodies for the errors a client meets first. */
const azureError = (status: number, code: string, message: string): SimResponse => json(status, { error: { code, message } });
const invalidRequest = (message: string, param: string | null): SimResponse =>
  json(400, { error: { message, type: 'invalid_request_error', param, code: null } });

const SAFE = { filtered: false, severity: 'safe' };
const CONTENT_FILTER = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Message text whether `content` is a string or an array of parts (`[{type:'text', text}]`). */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : ''))
      .join('\n');
  }
  return '';
}

/** A rough token count (about four characters a token): enough for a plausible `usage`. */
const tokens = (chars: number) => Math.max(1, Math.ceil(chars / 4));

function seededNames(ctx: SimContext): string[] {
  const seed = ctx.state.seed;
  const names = [
    ...seed.roles.map((r) => r.displayName),
    ...(seed.pimGroups ?? []).map((g) => ctx.state.group(g.groupId)?.displayName),
    ...(seed.azureRoles ?? []).map((r) => r.displayName),
  ];
  return [...new Set(names.filter((n): n is string => Boolean(n)))];
}

export function registerOpenAi(router: Router, ctx: SimContext): void {
  const replies: string[] = [];
  const calls: OpenAiCallRecord[] = [];

  router.add('POST', `${OPENAI_PREFIX}/deployments/:deployment/chat/completions`, (req, params) => {
    const deployment = params.deployment!;
    const apiVersion = req.query.get('api-version');
    const record = (status: number, extra: Partial<OpenAiCallRecord> = {}) => {
      calls.push({
        time: new Date().toISOString(),
        deployment,
        apiVersion,
        status,
        messageCount: 0,
        promptChars: 0,
        namesInSystemMessages: [],
        jsonMode: false,
        ...extra,
      });
    };
    const fail = (r: SimResponse, extra?: Partial<OpenAiCallRecord>) => {
      record(r.status, extra);
      return r;
    };

    if (!sameSecret(headerValue(req.headers['api-key']), SIM_OPENAI.apiKey)) {
      return fail(
        azureError(
          401,
          '401',
          'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
        ),
      );
    }
    if (!apiVersion) return fail(azureError(404, '404', 'Resource not found'));
    if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(apiVersion)) return fail(azureError(400, 'BadRequest', 'API version not supported'));
    if (deployment !== SIM_OPENAI.deployment) {
      return fail(
        azureError(
          404,
          'DeploymentNotFound',
          'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
        ),
      );
    }

    const body = jsonBody<{ messages?: unknown; response_format?: { type?: unknown } }>(req);
    if (!body || typeof body !== 'object') return fail(invalidRequest('We could not parse the JSON body of your request.', null));
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0)
      return fail(invalidRequest("'messages' is a required property and must be a non-empty array.", 'messages'));
    const parsed: { role: string; text: string }[] = [];
    for (const [i, m] of messages.entries()) {
      const role = m && typeof m === 'object' ? (m as { role?: unknown }).role : undefined;
      if (typeof role !== 'string' || !ROLES.has(role)) {
        return fail(invalidRequest(`Invalid value for 'messages[${i}].role': expected one of ${[...ROLES].join(', ')}.`, `messages[${i}].role`));
      }
      parsed.push({ role, text: textOf((m as { content?: unknown }).content) });
    }
    const jsonMode = body.response_format?.type === 'json_object';
    const promptChars = parsed.reduce((n, m) => n + m.text.length, 0);
    const system = parsed
      .filter((m) => m.role === 'system' || m.role === 'developer')
      .map((m) => m.text.toLowerCase())
      .join('\n');
    const facts = {
      messageCount: parsed.length,
      promptChars,
      namesInSystemMessages: seededNames(ctx).filter((n) => system.includes(n.toLowerCase())),
      jsonMode,
    };
    if (jsonMode && !parsed.some((m) => /json/i.test(m.text))) {
      return fail(invalidRequest("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", 'messages'), facts);
    }

    const content = replies.shift() ?? NO_COMMAND_REPLY;
    record(200, facts);
    return json(
      200,
      {
        id: `chatcmpl-${randomBytes(12).toString('base64url')}`,
        object: 'chat.completion',
        created: Math.floor(ctx.state.now().getTime() / 1000),
        model: SIM_OPENAI.model,
        system_fingerprint: 'fp_sim',
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: CONTENT_FILTER }],
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            logprobs: null,
            message: { role: 'assistant', content, refusal: null },
            content_filter_results: CONTENT_FILTER,
          },
        ],
        usage: { prompt_tokens: tokens(promptChars), completion_tokens: tokens(content.length), total_tokens: tokens(promptChars) + tokens(content.length) },
      },
      { 'apim-request-id': req.requestId, 'x-ms-region': 'Sim Region' },
    );
  });

  router.add('POST', '/_sim/openai/replies', (req) => {
    const b = jsonBody<{ content?: unknown }>(req);
    const list =
      typeof b?.content === 'string'
        ? [b.content]
        : Array.isArray(b?.content) && b.content.every((c) => typeof c === 'string')
          ? (b.content as string[])
          : undefined;
    if (!list)
      return json(400, {
        error: { code: 'InvalidContent', message: 'content: required, the assistant reply text (a string, or an array of strings queued in order).' },
      });
    replies.push(...list);
    return json(201, { queued: replies.length });
  });
  router.add('GET', '/_sim/openai/replies', () => json(200, { queued: replies.length }));
  router.add('DELETE', '/_sim/openai/replies', () => {
    replies.length = 0;
    return { status: 204 };
  });
  router.add('GET', '/_sim/openai/calls', () => json(200, { value: calls }));
  router.add('DELETE', '/_sim/openai/calls', () => {
    calls.length = 0;
    return { status: 204 };
  });
}
