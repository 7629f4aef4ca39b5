/** Teams' message size limit, which every card must fit: declared with the Teams facts in services/teams. */
export { TEAMS_CARD_MAX_BYTES } from '../services/teams/teams-limits';
