import { formatDuration, formatDurationWords, formatTime } from './format-time';

describe('formatTime', () => {
  const WINTER = '2026-11-23T13:05:00Z';
  const SUMMER = '2026-07-06T13:05:00Z';

  test('shows weekday, day, month, 24-hour time and the zone abbreviation in a named zone', () => {
    expect(formatTime(WINTER, 'Europe/Berlin')).toBe('Mon 23 Nov, 14:05 CET');
    expect(formatTime(SUMMER, 'Europe/Berlin')).toBe('Mon 6 Jul, 15:05 CEST');
    expect(formatTime(WINTER, 'America/New_York')).toBe('Mon 23 Nov, 08:05 EST');
    expect(formatTime(SUMMER, 'Europe/London')).toBe('Mon 6 Jul, 14:05 BST');
  });

  test('uses the date in the zone, not in UTC', () => {
    expect(formatTime(WINTER, 'Pacific/Auckland')).toMatch(/^Tue 24 Nov, 02:05 /);
  });

  test('without a zone, with an empty one or with an unknown one, shows UTC', () => {
    expect(formatTime(WINTER)).toBe('Mon 23 Nov, 13:05 UTC');
    expect(formatTime(WINTER, null)).toBe('Mon 23 Nov, 13:05 UTC');
    expect(formatTime(WINTER, '  ')).toBe('Mon 23 Nov, 13:05 UTC');
    expect(formatTime(WINTER, 'Mars/Olympus_Mons')).toBe('Mon 23 Nov, 13:05 UTC');
  });

  test('a zone without an English abbreviation shows its offset', () => {
    expect(formatTime(WINTER, 'Asia/Kolkata')).toBe('Mon 23 Nov, 18:35 GMT+5:30');
  });

  test('text that is not a time comes back unchanged instead of throwing', () => {
    expect(formatTime('not a time', 'Europe/Berlin')).toBe('not a time');
  });
});

describe('formatDuration', () => {
  test.each([
    [30, '30 min'],
    [45, '45 min'],
    [60, '1 h'],
    [90, '1 h 30 min'],
    [120, '2 h'],
    [1440, '24 h'],
  ])('%i minutes read "%s"', (minutes, text) => {
    expect(formatDuration(minutes)).toBe(text);
  });

  test.each([
    [30, '30 minutes'],
    [60, '1 hour'],
    [240, '4 hours'],
    [90, '1 hour 30 minutes'],
    [61, '1 hour 1 minute'],
  ])('in words, %i minutes read "%s"', (minutes, text) => {
    expect(formatDurationWords(minutes)).toBe(text);
  });
});
