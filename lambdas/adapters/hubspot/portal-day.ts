/**
 * A HubSpot portal's day: its daily API limit resets at midnight in the portal's time
 * zone (HUBSPOT.md §7). Plain Intl arithmetic, shared with the HubSpot stand-in so that
 * both sides count the same day.
 */

const dayFormats = new Map<string, Intl.DateTimeFormat>();
const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM-DD` of an instant in a time zone. */
export function localDay(epochMs: number, timeZone: string): string {
  let format = dayFormats.get(timeZone);
  if (!format) dayFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return format.format(epochMs);
}

/** The zone's offset from UTC at an instant, in ms (negative west of Greenwich). */
export function utcOffsetMs(epochMs: number, timeZone: string): number {
  let format = offsetFormats.get(timeZone);
  if (!format) offsetFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })));
  const name = format.formatToParts(epochMs).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!match) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 3_600_000 + Number(match[3]) * 60_000);
}

/** The next midnight in `timeZone` after `epochMs` (with the offset in force now: a DST change that night moves it by an hour). */
export function nextLocalMidnight(epochMs: number, timeZone: string): Date {
  const [year, month, day] = localDay(epochMs, timeZone).split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + 1) - utcOffsetMs(epochMs, timeZone));
}
