import { generate } from 'otplib';

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

/**
 * The authenticator code of the next 30-second step of `clock`, which it moves there:
 * the service accepts each step's code once, so a test that needs several codes asks
 * for a fresh one each time.
 */
export async function nextTotpCode(clock: ReturnType<typeof movableClock>, secret: string): Promise<string> {
  clock.advance(30_000);
  return generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) });
}
