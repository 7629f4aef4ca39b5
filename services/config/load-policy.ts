import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { type DecisionPolicy, DEFAULT_POLICY, parsePolicy } from '../decision/policy';

/** Reads the decision policy once at start: POLICY_FILE (JSON or YAML), POLICY_JSON, or the default. */
export function loadPolicy(source: { file?: string; inline?: string }): DecisionPolicy {
  if (source.inline) {
    let doc: unknown;
    try {
      doc = JSON.parse(source.inline);
    } catch (err) {
      throw new Error(`POLICY_JSON is not JSON: ${(err as Error).message}`);
    }
    return parsePolicy(doc, 'in POLICY_JSON');
  }
  if (source.file) {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new Error(`POLICY_FILE ${source.file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = /\.json$/i.test(source.file) ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new Error(`POLICY_FILE ${source.file} is not valid ${/\.json$/i.test(source.file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
    }
    return parsePolicy(doc, `in ${source.file}`);
  }
  return DEFAULT_POLICY;
}

/** The policy the bot runs with: the loaded one, whose human-only roles HUMAN_ONLY_ROLE_IDS adds to (it can never remove one). */
export function loadEffectivePolicy(config: { policySource: { file?: string; inline?: string }; humanOnlyRoleIds: string[] }): DecisionPolicy {
  const loaded = loadPolicy(config.policySource);
  return { ...loaded, humanOnlyRoleIds: [...new Set([...loaded.humanOnlyRoleIds, ...config.humanOnlyRoleIds])] };
}
