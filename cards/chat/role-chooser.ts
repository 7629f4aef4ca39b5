import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import chooserTemplate from './role-chooser.json';
import { clip } from '../card-text';
import { ChatVerb, FORM_INPUT } from './chat-verbs';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const chooserTemplateParsed = new Template(chooserTemplate);

export interface RoleChooserData {
  draftId: string;
  /** `key` is the target's `targetKey`; `title` what the user reads. */
  choices: Array<{ key: string; title: string }>;
  /** A line above the list, e.g. why the bot asks. Shown as plain text. */
  message?: string | null;
}

const MAX = { title: 200, message: 300 } as const;

/**
 * Budget for the choices' JSON. Azure keys carry whole ARM scopes, so a user eligible for many resources
 * could otherwise push the card past Teams' 28 KB message limit.
 */
const CHOICES_MAX_BYTES = 16 * 1024;
const CHOICES_MAX_COUNT = 100;

interface ChooserViewModel {
  draftId: string;
  inputId: string;
  verbs: { choose: string; discard: string };
  hasMessage: boolean;
  message: string;
  hasChoices: boolean;
  isEmpty: boolean;
  choices: Array<{ key: string; title: string }>;
  hasHiddenChoices: boolean;
  hiddenChoicesText: string;
}

function fittingChoices(choices: RoleChooserData['choices']): Array<{ key: string; title: string }> {
  const kept: Array<{ key: string; title: string }> = [];
  let bytes = 0;
  for (const choice of choices) {
    const shown = { key: choice.key, title: clip(choice.title, MAX.title) || choice.key };
    bytes += Buffer.byteLength(JSON.stringify(shown), 'utf8');
    if (bytes > CHOICES_MAX_BYTES || kept.length >= CHOICES_MAX_COUNT) break;
    kept.push(shown);
  }
  return kept;
}

function toViewModel(d: RoleChooserData): ChooserViewModel {
  const choices = fittingChoices(d.choices);
  const hidden = d.choices.length - choices.length;
  const message = clip(d.message, MAX.message);
  return {
    draftId: d.draftId,
    inputId: FORM_INPUT.target,
    verbs: { choose: ChatVerb.Choose, discard: ChatVerb.Discard },
    hasMessage: message.length > 0,
    message,
    hasChoices: choices.length > 0,
    isEmpty: d.choices.length === 0,
    choices,
    hasHiddenChoices: hidden > 0,
    hiddenChoicesText: `${hidden} more not listed: to activate one of them, type its name.`,
  };
}

/**
 * The role chooser: a compact dropdown of the roles the user may activate, answered with `chat.choose`
 * ({draftId} plus the `target` input). With no choices it tells the user they are eligible for nothing
 * and whom to ask, without inputs or buttons.
 */
export function renderRoleChooser(d: RoleChooserData): AdaptiveCardJson {
  const card = chooserTemplateParsed.expand({ $root: toViewModel(d) }) as AdaptiveCardJson;
  if (Array.isArray(card.actions) && card.actions.length === 0) delete card.actions;
  return card;
}
