/** The admin channel's card for an ask to extend or renew an assignment. */
export { renderExtensionCard, type ExtensionCardData, type CheckToday } from './extension-card';
export { ExtensionVerb, type ExtensionVerbName, EXTENSION_END_INPUT, EXTENSION_NOTE_INPUT, EXTENSION_NOTE_MAX_LENGTH } from './extension-verbs';
