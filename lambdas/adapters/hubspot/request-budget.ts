import { SourceLimitReachedError } from '#core/errors.ts';
import type { Clock } from '#core/ports/clock.ts';
import { nextLocalMidnight } from './portal-day.ts';

/**
 * One HubSpot portal's API budget, shared by every step that calls the portal at once,
 * in whatever Lambda it runs (HUBSPOT.md §7): a rolling window (Professional: 190
 * requests per 10 s) and a daily limit, both the portal's, not the token's, so every
 * other integration of the portal spends from them too.
 *
 * The window is kept by pacing (GCRA): the shared state holds the earliest time the
 * next request may go out, and each request takes that slot and moves it on by one
 * interval (window ÷ (limit × BUDGET_SHARE)) with one conditional write. However many
 * Lambdas read the portal, their requests leave evenly spaced, so no rolling window
 * holds more than the share (plus the few requests that catch up after a late one:
 * CATCH_UP_INTERVALS), and nothing is burst and then refused. The limit and
 * window are learned from each answer's `X-HubSpot-RateLimit-*` headers.
 *
 * A 429 of the window (another integration took its share, or HubSpot's clock saw the
 * requests closer together) pushes the shared slot back for everyone and the request
 * is sent again later. A 429 of the day (or `Daily-Remaining: 0`) marks the budget
 * spent until the portal's midnight: every step stops with SourceLimitReachedError.
 */

/** Of the window's limit, what crm-backup paces itself to: the rest is headroom for jitter and other integrations. */
export const BUDGET_SHARE = 0.95;
/**
 * How far behind its pace a portal's requests may fall and then catch up, in
 * intervals: a request that comes late (a slow answer, a timer that fired late) may
 * take a slot up to this far in the past, so the time lost is made up by the next ones
 * rather than lost for good. A window then holds at most BUDGET_SHARE of the limit plus
 * this many requests: 183 of Professional's 190.
 */
export const CATCH_UP_INTERVALS = 2;
/** The first back-off after a window 429; it doubles with each one in a row, up to the window's length. */
const FIRST_BACKOFF_MS = 1000;

/** What is kept per portal, shared (DynamoDB's app table in AWS). */
export interface BudgetState {
  /** Epoch ms before which no request may be sent (the next free slot). */
  next: number;
  /** Ms between two requests: the window ÷ (limit × BUDGET_SHARE). */
  intervalMs: number;
  /** While set and in the future, the daily limit is spent (epoch ms of the portal's midnight). */
  dayEndsAt?: number;
  /** Bumped by every write: the condition that makes each write exclusive. */
  version: number;
}

/** Where the shared state lives. */
export interface BudgetStore {
  read(portalId: number): Promise<BudgetState | undefined>;
  /** Writes `state` only if the stored version is still `fromVersion` (undefined: nothing stored yet); answers whether it did. */
  write(portalId: number, state: BudgetState, fromVersion: number | undefined): Promise<boolean>;
}

/** A portal's limits as HubSpot states them. */
export interface PortalLimits {
  perWindow: number;
  windowMs: number;
}

/** HubSpot's rate-limit headers of one answer, as far as it sent them. */
export interface RateLimitHeaders {
  max?: number;
  windowMs?: number;
  dailyRemaining?: number;
}

export interface RequestBudgetOptions {
  portalId: number;
  /** The portal's time zone: the daily limit resets at its midnight. */
  timeZone: string;
  /** Limits to pace by until an answer's headers tell (those seen when the portal was connected). */
  limits: PortalLimits;
  store: BudgetStore;
  clock: Clock;
  /** Waits (tests pass one that moves their clock instead). */
  sleep: (ms: number) => Promise<void>;
}

export class RequestBudget {
  private readonly options: RequestBudgetOptions;
  /** The state as this process last read or wrote it; a write from it fails if another process wrote since. */
  private known: BudgetState | undefined;
  /** Reservations of this process go one at a time (others' are kept apart by the conditional write). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: RequestBudgetOptions) {
    this.options = options;
  }

  /**
   * Waits for a slot to send one request: takes the next free one and sleeps until it.
   * SourceLimitReachedError while the day's limit is spent.
   */
  async take(): Promise<void> {
    const slot = await this.serially(() => this.reserve());
    const wait = slot - this.now();
    if (wait > 0) await this.options.sleep(wait);
  }

  /** Learns the limit and window from an answer's headers, and a spent day from `Daily-Remaining: 0`. */
  async observe(headers: RateLimitHeaders): Promise<void> {
    if (headers.dailyRemaining === 0) await this.endDay();
    if (!headers.max || !headers.windowMs) return;
    const intervalMs = intervalOf({ perWindow: headers.max, windowMs: headers.windowMs });
    const state = this.known;
    if (state && Math.abs(state.intervalMs - intervalMs) / intervalMs < 0.01) return;
    await this.serially(() => this.update((current) => ({ ...current, intervalMs })));
  }

  /** After a window 429: the shared slot moves at least `FIRST_BACKOFF_MS × 2^(attempt-1)` (at most a window) ahead. */
  async backOff(attempt: number, windowMs = this.options.limits.windowMs): Promise<void> {
    const delay = Math.min(windowMs, FIRST_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
    await this.serially(() => this.update((current) => ({ ...current, next: Math.max(current.next, this.now() + delay) })));
  }

  /** After a daily 429: the budget is spent until the portal's midnight, for every step; answers the refusal to throw. */
  async endDay(): Promise<SourceLimitReachedError> {
    const dayEndsAt = nextLocalMidnight(this.now(), this.options.timeZone).getTime();
    await this.serially(() => this.update((current) => ({ ...current, dayEndsAt })));
    return this.dayRefusal(dayEndsAt);
  }

  private async reserve(): Promise<number> {
    let slot = 0;
    await this.update((current) => {
      const now = this.now();
      if (current.dayEndsAt && current.dayEndsAt > now) throw this.dayRefusal(current.dayEndsAt);
      slot = Math.max(current.next, now - CATCH_UP_INTERVALS * current.intervalMs);
      return { ...current, next: slot + current.intervalMs };
    });
    return slot;
  }

  /** Applies `change` to the shared state with a conditional write, reading again after a lost race. */
  private async update(change: (current: BudgetState) => Omit<BudgetState, 'version'>): Promise<void> {
    const { store, portalId } = this.options;
    for (;;) {
      const current = this.known ?? (await store.read(portalId));
      const base: BudgetState = current ?? { next: 0, intervalMs: intervalOf(this.options.limits), version: 0 };
      const next: BudgetState = { ...change(base), version: base.version + 1 };
      if (await store.write(portalId, next, current?.version)) {
        this.known = next;
        return;
      }
      this.known = undefined;
    }
  }

  private dayRefusal(dayEndsAt: number): SourceLimitReachedError {
    const resetsAt = new Date(dayEndsAt).toISOString();
    return new SourceLimitReachedError(
      `HubSpot's daily API limit for portal ${this.options.portalId} is used up (by crm-backup and the portal's other integrations together); it resets at midnight ${this.options.timeZone} (${resetsAt}). Nothing more is asked of HubSpot until then.`,
      { source: 'hubspot', resetsAt },
      new Date(this.now()),
    );
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private now(): number {
    return this.options.clock.now().getTime();
  }
}

/** Ms between requests that keeps a rolling window at BUDGET_SHARE of its limit. */
export function intervalOf(limits: PortalLimits): number {
  return limits.windowMs / (limits.perWindow * BUDGET_SHARE);
}

/** The rate-limit headers of an answer (names as HubSpot sends them; HTTP lowercases them). */
export function rateLimitHeaders(headers: Record<string, string | undefined>): RateLimitHeaders {
  const number = (name: string) => {
    const value = headers[name] ?? headers[name.toLowerCase()];
    const parsed = value === undefined ? NaN : Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  };
  return {
    max: number('X-HubSpot-RateLimit-Max'),
    windowMs: number('X-HubSpot-RateLimit-Interval-Milliseconds'),
    dailyRemaining: number('X-HubSpot-RateLimit-Daily-Remaining'),
  };
}
