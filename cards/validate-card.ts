import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type * as AdaptiveCards from 'adaptivecards';

/**
 * adaptivecards 3.0.6's package entry is ESM with extensionless imports, which Node 20 cannot load;
 * its UMD bundle works everywhere (jest, tsx, node).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const AC = require('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCards;

import { TEAMS_CARD_MAX_BYTES } from './card-limits';

export { TEAMS_CARD_MAX_BYTES };

/**
 * The official 1.5 schema (microsoft/AdaptiveCards schemas/1.5.0/adaptive-card.json, MIT), copied into the
 * repo so tests do not depend on anything outside it. Provenance in schema/README.md.
 */
export const ADAPTIVE_CARD_SCHEMA_PATH = path.join(__dirname, 'schema', 'adaptive-card-1.5.schema.json');

const MAX_SCHEMA_PROBLEMS = 20;

interface CompiledSchema {
  card: ValidateFunction;
  definition(type: string): ValidateFunction | undefined;
}

let compiled: CompiledSchema | undefined;

function compileSchema(): CompiledSchema {
  const schema = JSON.parse(fs.readFileSync(ADAPTIVE_CARD_SCHEMA_PATH, 'utf8')) as {
    id: string;
    definitions: Record<string, unknown>;
  };
  // The schema is draft-06 with a top-level "id"; ajv 8 wants "$id" and the draft-06 meta-schema, and
  // strict mode off for the schema's own keywords (version, features, examples).
  const { id, ...rest } = schema;
  const ajv = new Ajv({ strict: false, allErrors: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  addFormats(ajv);
  const card = ajv.compile({ ...rest, $id: id });
  return {
    card,
    definition: (type) => (Object.hasOwn(schema.definitions, type) ? ajv.getSchema(`${id}#/definitions/${type}`) : undefined),
  };
}

function schemaProblems(card: unknown): string[] {
  compiled ??= compileSchema();
  if (compiled.card(card)) return [];
  const lines = [...new Set(elementProblems(compiled, card))];
  if (lines.length === 0) lines.push(...(compiled.card.errors ?? []).map((error) => formatAjvError(error, '')));
  const shown = lines.slice(0, MAX_SCHEMA_PROBLEMS);
  if (lines.length > shown.length) shown.push(`schema: … and ${lines.length - shown.length} more`);
  return shown;
}

type Json = Record<string, unknown>;

function isTyped(node: unknown): node is Json & { type: string } {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && typeof (node as Json).type === 'string';
}

/**
 * The schema picks each element's definition with `anyOf` over every element type, so a whole-card ajv run
 * reports each bad element once per type it is not. Instead validate every typed object against the
 * definition its `type` names and keep the errors that belong to it, not to a nested typed object (which
 * reports its own). A nested element that is valid on its own but rejected by its parent is in the wrong place.
 */
function elementProblems(schema: CompiledSchema, root: unknown): string[] {
  const problems: string[] = [];
  const visit = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) {
      for (const [index, child] of node.entries()) visit(child, `${pointer}/${index}`);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    if (isTyped(node)) {
      const validate = schema.definition(node.type);
      if (!validate) {
        problems.push(`schema: ${pointer || '/'} unknown type ${JSON.stringify(node.type)}`);
      } else if (!validate(node)) {
        for (const error of validate.errors ?? []) {
          const target = nestedTypedObject(node, error.instancePath);
          if (target === undefined) {
            problems.push(formatAjvError(error, pointer));
          } else if (error.keyword === 'anyOf' && target.path === error.instancePath) {
            const child = schema.definition(target.node.type);
            if (child?.(target.node)) {
              problems.push(`schema: ${pointer}${target.path} ${JSON.stringify(target.node.type)} is not allowed here`);
            }
          }
        }
      }
    }
    for (const [key, child] of Object.entries(node)) visit(child, `${pointer}/${escapePointer(key)}`);
  };
  visit(root, '');
  return problems;
}

/** The first typed object strictly below `node` on the way to `instancePath`, if any. */
function nestedTypedObject(node: unknown, instancePath: string): { node: Json & { type: string }; path: string } | undefined {
  let current = node;
  let path = '';
  for (const raw of instancePath.split('/').slice(1)) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Json)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
    path += `/${raw}`;
    if (isTyped(current)) return { node: current, path };
  }
  return undefined;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function formatAjvError(error: ErrorObject, prefix: string): string {
  const params = error.params as { additionalProperty?: unknown; allowedValues?: unknown };
  const extra =
    error.keyword === 'additionalProperties'
      ? ` (${String(params.additionalProperty)})`
      : error.keyword === 'enum'
        ? ` (${JSON.stringify(params.allowedValues)})`
        : '';
  return `schema: ${prefix}${error.instancePath || (prefix ? '' : '/')} ${error.message ?? error.keyword}${extra}`;
}

function rendererProblems(card: unknown): string[] {
  if (typeof card !== 'object' || card === null || Array.isArray(card)) return ['adaptivecards: the card is not a JSON object'];
  const parsed = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const event = context.getEventAt(i);
    problems.push(`adaptivecards ${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  for (const event of parsed.validateProperties().validationEvents) {
    problems.push(`adaptivecards ${AC.ValidationEvent[event.event]}: ${event.message}`);
  }
  return problems;
}

/**
 * Problems with an Adaptive Card, empty when none: the official 1.5 JSON schema (catches missing verbs,
 * unknown properties, bad enum values), the adaptivecards parser (unknown element and action types, bad
 * property values, duplicate input ids, unsupported versions) and Teams' message size limit.
 */
export function validateAdaptiveCard(card: unknown): string[] {
  const problems = [...schemaProblems(card), ...rendererProblems(card)];
  const bytes = Buffer.byteLength(JSON.stringify(card) ?? '', 'utf8');
  if (bytes > TEAMS_CARD_MAX_BYTES) {
    problems.push(`size: the card is ${bytes} bytes; Teams rejects messages over ${TEAMS_CARD_MAX_BYTES} bytes`);
  }
  return problems;
}
