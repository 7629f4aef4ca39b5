import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import helpTemplate from './help-card.json';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const helpTemplateParsed = new Template(helpTemplate);

export interface HelpCommand {
  /** What the command is for, shown bold. */
  title: string;
  /** One sentence on what it does. */
  what: string;
  /** A command to type as it is, shown in a fixed-width font so it can be copied. */
  example: string;
}

export interface HelpCardData {
  /** Extra lines a deployment adds (none by default). */
  commands?: HelpCommand[];
}

/** The commands every user has; examples use the demo tenant's role names only where a role is needed. */
export const HELP_COMMANDS: readonly HelpCommand[] = [
  {
    title: 'Activate a role',
    what: 'Name the role; add a duration, a ticket and a reason if you like. I check PIM’s rules and show you a form to confirm.',
    example: 'activate security operator for 2h ticket INC0012345 because investigating alert',
  },
  { title: 'Pick a role on a form', what: 'Choose from the roles you can activate.', example: 'activate' },
  { title: 'See your roles', what: 'What you can activate, and what is active now and until when.', example: 'roles' },
  { title: 'Follow your requests', what: 'Your requests, and what is waiting for your approval.', example: 'status' },
  {
    title: 'Approve from here',
    what: 'What waits for your approval, as cards here with Approve and Deny. “approvals on” sends each new one here too; “approvals off” stops it.',
    example: 'approvals',
  },
  {
    title: 'Withdraw a request',
    what: 'Cancel a request that is still waiting. Without a role name I ask which one.',
    example: 'cancel security operator',
  },
  { title: 'Extend an eligibility', what: 'Ask to extend an eligibility that ends within 14 days.', example: 'extend security operator' },
  {
    title: 'Renew an expired eligibility',
    what: 'Ask to renew an eligibility that expired in the last 30 days; an administrator decides.',
    example: 'renew exchange administrator',
  },
  {
    title: 'End a role early',
    what: 'Done before the time is up? End the activation now, so the access does not outlive the work.',
    example: 'done security operator',
  },
];

const INTRO = 'I request PIM roles for you and follow them until they end. Type one of these in this chat:';
const TIPS = 'Role names can be shortened or misspelt (“sec op”, “helpdesk admin”); durations like 90m, 1.5h or “until 5pm” work.';

/** Buttons that type the command for the user (imBack: the text appears in the chat as if typed). */
const SHORTCUTS = [
  { title: 'My roles', command: 'roles' },
  { title: 'My requests', command: 'status' },
  { title: 'Activation form', command: 'activate' },
];

/** The help card: each command with one line on what it does and an example to copy, plus buttons for the common ones. */
export function renderHelpCard(d: HelpCardData = {}): AdaptiveCardJson {
  return helpTemplateParsed.expand({
    $root: { intro: INTRO, tips: TIPS, commands: [...HELP_COMMANDS, ...(d.commands ?? [])], shortcuts: SHORTCUTS },
  }) as AdaptiveCardJson;
}
