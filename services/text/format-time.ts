/**
 * Times and durations as the bot writes them for one reader (chat cards, digests, personal messages), in that
 * reader's IANA zone: Teams gives each activity the user's (`activity.localTimezone`), and messages the bot
 * starts use the user's mailbox zone. A missing or unknown zone falls back to UTC rather than failing the text.
 */

const FALLBACK_ZONE = 'UTC';

interface ZoneFormatters {
  parts: Intl.DateTimeFormat;
  /** en-US knows the North American abbreviations (EST, PST) that en-GB writes as GMT offsets. */
  usZone: Intl.DateTimeFormat;
}

function formattersFor(timeZone: string): ZoneFormatters {
  return {
    parts: new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    }),
    usZone: new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'short' }),
  };
}

function zoneFormatters(timeZone: string | null | undefined): ZoneFormatters {
  const zone = timeZone?.trim();
  if (zone) {
    try {
      return formattersFor(zone);
    } catch {
      // RangeError for a zone ICU does not know: show UTC, which is at least labelled as such.
    }
  }
  return formattersFor(FALLBACK_ZONE);
}

const GMT_OFFSET = /^GMT[+-]/;

/**
 * "Mon 23 Nov, 14:05 CET" in the given IANA zone (UTC when none or unknown). The zone is an abbreviation
 * where ICU has one in British or American English, otherwise an offset such as "GMT+5:30".
 * Text that is not a date comes back unchanged, so a bad timestamp never breaks a card.
 */
export function formatTime(iso: string, timeZone?: string | null): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const formatters = zoneFormatters(timeZone);
  const part = (parts: Intl.DateTimeFormatPart[], type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  const parts = formatters.parts.formatToParts(date);
  let zone = part(parts, 'timeZoneName');
  if (GMT_OFFSET.test(zone)) {
    const us = part(formatters.usZone.formatToParts(date), 'timeZoneName');
    if (us && !GMT_OFFSET.test(us)) zone = us;
  }
  return `${part(parts, 'weekday')} ${part(parts, 'day')} ${part(parts, 'month')}, ${part(parts, 'hour')}:${part(parts, 'minute')} ${zone}`;
}

/** "45 min", "2 h", "1 h 30 min": minutes alone only under an hour. */
export function formatDuration(minutes: number): string {
  const total = Math.max(0, Math.round(minutes));
  const h = Math.floor(total / 60);
  const m = total % 60;
  if (h === 0) return `${m} min`;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** "30 minutes", "1 hour", "4 hours", "1 hour 30 minutes": for sentences rather than choices. */
export function formatDurationWords(minutes: number): string {
  const total = Math.max(0, Math.round(minutes));
  const h = Math.floor(total / 60);
  const m = total % 60;
  const hours = h === 0 ? '' : `${h} hour${h === 1 ? '' : 's'}`;
  const mins = m === 0 && h > 0 ? '' : `${m} minute${m === 1 ? '' : 's'}`;
  return [hours, mins].filter(Boolean).join(' ');
}
