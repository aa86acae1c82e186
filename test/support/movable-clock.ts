/**
 * Test time: real time plus an offset the test moves forward (quota windows, expiry,
 * leases, TOTP steps). It is the runtime's `clock`; `advance` works detached too.
 */
export function movableClock() {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    advance: (ms: number) => void (offsetMs += ms),
  };
}
