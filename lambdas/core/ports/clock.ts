/** Time, injected so that tests can move it (quota windows, 14-day expiry, leases). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
