import type { Clock } from '#core/ports/clock.ts';
import type { PortalSettings } from './model.ts';
import type { HubSpotStore } from './store.ts';

export type RateLimitPolicy = 'TEN_SECONDLY_ROLLING' | 'DAILY';

export type Admission = { admitted: true; headers: Record<string, string> } | { admitted: false; policy: RateLimitPolicy; headers: Record<string, string> };

/**
 * A portal's API budget as HubSpot enforces it for private apps (HUBSPOT.md §7): a
 * rolling window (190 requests per 10 s on Professional) and a daily limit that resets
 * at midnight in the portal's time zone. Requests are counted per portal, not per token,
 * so every integration of a portal shares them. A refused request is not counted: a
 * client that backs off gets the window back once its oldest requests age out.
 *
 * The window lives in memory (it is ten seconds long); the day's count is kept in the
 * store so that a restart does not hand out a fresh daily budget.
 */
export class PortalRateLimiter {
  private readonly windows = new Map<number, number[]>();
  private readonly days = new Map<number, { day: string; calls: number }>();

  private readonly store: HubSpotStore;
  private readonly clock: Clock;

  constructor(store: HubSpotStore, clock: Clock) {
    this.store = store;
    this.clock = clock;
  }

  admit(portal: PortalSettings): Admission {
    const now = this.clock.now().getTime();
    const window = this.window(portal, now);
    const today = this.today(portal, now);
    const { perWindow, daily } = portal.limits;
    if (today.calls >= daily) return { admitted: false, policy: 'DAILY', headers: this.headers(portal, now) };
    if (window.length >= perWindow) return { admitted: false, policy: 'TEN_SECONDLY_ROLLING', headers: this.headers(portal, now) };
    window.push(now);
    today.calls += 1;
    this.store.setDailyCalls(portal.portalId, today.day, today.calls);
    return { admitted: true, headers: this.headers(portal, now) };
  }

  /** The `X-HubSpot-RateLimit-*` headers (names as observed in hubspot-api-python#143). */
  headers(portal: PortalSettings, now = this.clock.now().getTime()): Record<string, string> {
    const { perWindow, windowMs, daily } = portal.limits;
    const window = this.window(portal, now);
    const secondly = Math.ceil(perWindow / Math.max(1, windowMs / 1000));
    const lastSecond = window.filter((at) => at > now - 1000).length;
    return {
      'X-HubSpot-RateLimit-Daily': String(daily),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, daily - this.today(portal, now).calls)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(windowMs),
      'X-HubSpot-RateLimit-Max': String(perWindow),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, perWindow - window.length)),
      'X-HubSpot-RateLimit-Secondly': String(secondly),
      'X-HubSpot-RateLimit-Secondly-Remaining': String(Math.max(0, secondly - lastSecond)),
    };
  }

  /** What `GET /account-info/v3/api-usage/daily/private-apps` reports. */
  dailyUsage(portal: PortalSettings): { currentUsage: number; usageLimit: number; resetsAt: Date } {
    const now = this.clock.now().getTime();
    return { currentUsage: this.today(portal, now).calls, usageLimit: portal.limits.daily, resetsAt: nextLocalMidnight(now, portal.timeZone) };
  }

  /** Forgets the window (after a test changes the limits or moves time a lot). */
  reset(portalId: number): void {
    this.windows.delete(portalId);
  }

  private window(portal: PortalSettings, now: number): number[] {
    let window = this.windows.get(portal.portalId);
    if (!window) this.windows.set(portal.portalId, (window = []));
    const from = now - portal.limits.windowMs;
    let expired = 0;
    while (expired < window.length && window[expired]! <= from) expired += 1;
    if (expired) window.splice(0, expired);
    return window;
  }

  private today(portal: PortalSettings, now: number): { day: string; calls: number } {
    const day = localDay(now, portal.timeZone);
    let today = this.days.get(portal.portalId);
    if (!today || today.day !== day) {
      today = { day, calls: this.store.dailyCalls(portal.portalId, day) };
      this.days.set(portal.portalId, today);
    }
    return today;
  }
}

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
