import { WorkingText } from './working-text';

export interface Ticket {
  system: string | null;
  number: string;
}

const SERVICENOW_PREFIXES = 'inc|chg|ritm|req|prb|task|sctask';

const SYSTEM_ALIASES: Record<string, string> = {
  servicenow: 'ServiceNow',
  'service-now': 'ServiceNow',
  'service now': 'ServiceNow',
  snow: 'ServiceNow',
  jira: 'Jira',
};

function inferSystem(number: string): string | null {
  if (new RegExp(`^(?:${SERVICENOW_PREFIXES})\\d+$`, 'i').test(number)) return 'ServiceNow';
  if (/^[a-z][a-z0-9]*-\d+$/i.test(number)) return 'Jira';
  return null;
}

function ticket(systemWord: string | undefined, number: string): Ticket {
  const upper = number.toUpperCase();
  if (systemWord === undefined) return { system: inferSystem(upper), number: upper };
  const system = SYSTEM_ALIASES[systemWord.toLowerCase().replace(/\s+/g, ' ')] ?? systemWord;
  return { system, number: upper };
}

/**
 * Finds one ticket reference in the unconsumed text and consumes it, with its lead-in ("ticket",
 * "for", "#"). Standalone Jira keys must be typed in capitals, otherwise "covid-19" would be a ticket.
 */
export function takeTicket(text: WorkingText): Ticket | null {
  const keyword =
    /\b(?:ticket|tkt|incident)\b\s*(?:no\.?|number|nr\.?|:|#)?\s*(?:(service[\s-]now|servicenow|snow|jira|(?!(?:is|for|no|number|nr|ref)\b)[a-z][a-z]+)\s*[:#]?\s+)?#?([a-z]*-?\d[\w-]*)/;
  let m = keyword.exec(text.view);
  if (m) {
    text.consume(m.index, m.index + m[0].length);
    const systemStart = m[1] === undefined ? -1 : m.index + m[0].indexOf(m[1]);
    const systemWord = m[1] === undefined ? undefined : text.original.slice(systemStart, systemStart + m[1].length);
    return ticket(systemWord, m[2]!);
  }
  m = text.take(new RegExp(String.raw`(?:\bfor\s+)?#?\b((?:${SERVICENOW_PREFIXES})\d{3,})\b`));
  if (m) {
    return ticket(undefined, m[1]!);
  }
  const jira = /(?:\bfor\s+)?#?\b([A-Z][A-Z0-9]{1,9}-\d+)\b/.exec(
    // Case matters for Jira keys, so search the original text, but only where nothing was consumed.
    text.original
      .split('')
      .map((c, i) => (text.view[i] === ' ' ? ' ' : c))
      .join(''),
  );
  if (jira) {
    text.consume(jira.index, jira.index + jira[0].length);
    return ticket(undefined, jira[1]!);
  }
  m = text.take(/(?:\bfor\s+)?#(\d+)\b/);
  if (m) return ticket(undefined, m[1]!);
  return null;
}

/** A ticket mentioned inside a justification ("because of INC0012345"), left in the user's words. */
export function findTicket(words: string): Ticket | null {
  return takeTicket(new WorkingText(words));
}
