/** Dates and durations in the reader's own time zone and language (Intl; nothing hand-formatted). */
export class Formats {
  private readonly dateTime: Intl.DateTimeFormat;
  private readonly dateOnly: Intl.DateTimeFormat;
  private readonly relative: Intl.RelativeTimeFormat;
  /** The IANA zone dates are shown in (the one given when valid, else the browser's). */
  readonly zone: string;

  constructor(
    readonly locale: string,
    readonly timeZone: string,
  ) {
    const safeLocale = Intl.DateTimeFormat.supportedLocalesOf([locale]).length ? locale : 'en-US';
    const tz = validTimeZone(timeZone) ? timeZone : Intl.DateTimeFormat().resolvedOptions().timeZone;
    this.zone = tz;
    this.dateTime = new Intl.DateTimeFormat(safeLocale, {
      // dateStyle/timeStyle cannot be combined with timeZoneName; the zone is shown because Teams users work across zones.
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      timeZone: tz,
      timeZoneName: 'short',
    });
    this.dateOnly = new Intl.DateTimeFormat(safeLocale, { dateStyle: 'medium', timeZone: tz });
    this.relative = new Intl.RelativeTimeFormat(safeLocale, { numeric: 'auto' });
  }

  /** A duration in words: "1 hour", "2 hours 30 minutes" (from minutes; the ISO text when minutes are unknown). */
  duration(minutes: number | null | undefined, iso?: string | null): string {
    if (typeof minutes !== 'number' || !Number.isFinite(minutes) || minutes <= 0) return iso ?? '';
    const h = Math.floor(minutes / 60);
    const m = Math.round(minutes % 60);
    const unit = (n: number, u: 'hour' | 'minute') =>
      new Intl.NumberFormat(this.dateTime.resolvedOptions().locale, { style: 'unit', unit: u, unitDisplay: 'long' }).format(n);
    return [h ? unit(h, 'hour') : '', m ? unit(m, 'minute') : ''].filter(Boolean).join(' ');
  }

  /** "7 Dec 2026, 14:05 CET"; an empty string for no date. */
  when(iso: string | null | undefined): string {
    const d = parse(iso);
    return d ? this.dateTime.format(d) : '';
  }

  date(iso: string | null | undefined): string {
    const d = parse(iso);
    return d ? this.dateOnly.format(d) : '';
  }

  /** "in 3 hours", "5 minutes ago". */
  fromNow(iso: string | null | undefined, now = Date.now()): string {
    const d = parse(iso);
    if (!d) return '';
    const minutes = Math.round((d.getTime() - now) / 60_000);
    if (Math.abs(minutes) < 60) return this.relative.format(minutes, 'minute');
    const hours = Math.round(minutes / 60);
    if (Math.abs(hours) < 48) return this.relative.format(hours, 'hour');
    return this.relative.format(Math.round(hours / 24), 'day');
  }
}

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function validTimeZone(tz: string | null | undefined): tz is string {
  if (!tz) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The reader's time zone: the one their mailbox settings name (the zone the bot's chat messages and cards use,
 * so the tab and the chat agree), else the host's (the device's), else the browser's.
 */
export function readerTimeZone(hostTz: string | null | undefined, meTz: string | null | undefined): string {
  if (validTimeZone(meTz)) return meTz;
  if (validTimeZone(hostTz)) return hostTz;
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}
