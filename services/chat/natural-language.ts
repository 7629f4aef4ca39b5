/**
 * The natural-language port of the chat: free text to a command. The adapter (bot/chat/nl-planner.ts, on
 * teams-ai's planner and Azure OpenAI) implements it; nothing here knows Teams or a model.
 */
import type { ParsedCommand, RoleCandidate } from './parse-command';

/**
 * Free text to a command through Azure OpenAI. The model only proposes: the role is found again among the
 * user's eligible roles by the deterministic matcher, every field is validated here, and the handlers still
 * check PIM policy and ask the user to confirm on a card before anything is submitted.
 */
export interface NaturalLanguage {
  /** The command the text means; null when the model is unavailable, slow, unclear, or finds no command. */
  interpret(text: string, eligible: RoleCandidate[], now: Date, timeZone: string): Promise<ParsedCommand | null>;
}

/** AZURE_OPENAI_* (see services/config/config.ts). */
export interface AzureOpenAiSettings {
  /** https://<resource>.openai.azure.com */
  endpoint: string;
  apiKey: string;
  /** A chat model deployment that supports JSON mode (gpt-4o-mini, gpt-4o, ...). */
  deployment: string;
  apiVersion: string;
}
