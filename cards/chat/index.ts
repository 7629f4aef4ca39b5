/** Cards for elevation by chat in a Teams personal chat. */
export { ChatVerb, FORM_INPUT, type ChatVerbName, type DraftActionData, type RequestActionData } from './chat-verbs';
export { renderRoleChooser, type RoleChooserData } from './role-chooser';
export {
  renderActivationForm,
  durationChoices,
  STANDARD_DURATIONS_MINUTES,
  TICKET_SYSTEMS,
  type ActivationFormData,
  type DurationChoice,
} from './activation-form';
export { renderRequestStatus, withStatusNote, isClosed, type RequestState, type RequestStatusData } from './request-status';
export { renderNoticeCard, renderReRequestNotice, type NoticeCardData, type ReRequestNoticeData } from './notice-card';
export { formatTime, formatDuration, formatDurationWords } from '../../services/text/format-time';
export { renderHelpCard, HELP_COMMANDS, type HelpCardData, type HelpCommand } from './help-card';
export { renderCancelChooser, type CancelChoice, type CancelChooserData, type CancelChoiceData } from './cancel-chooser';
export { renderEndingSoon, type EndingSoonData } from './ending-soon';
