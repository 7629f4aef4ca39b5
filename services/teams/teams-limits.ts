/**
 * Teams rejects bot messages over about 28 KB; a card must leave room for the activity around it.
 * In its own module so runtime code does not load the validator (ajv and the adaptivecards bundle are
 * development dependencies).
 */
export const TEAMS_CARD_MAX_BYTES = 28 * 1024;
