import type { AppDeps } from '#runtime/deps.ts';

/**
 * Holds the demo data's seeding at its last step (the account item, written once an
 * account's records are in) until `release()`, so a test can look at the runtime in between.
 */
export function holdSeeding() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let listening!: (url: string) => void;
  const url = new Promise<string>((resolve) => (listening = resolve));
  const wrapDeps = (deps: AppDeps): AppDeps => {
    const records = Object.create(deps.records) as AppDeps['records'];
    records.putAccount = async (...args) => {
      await released;
      return deps.records.putAccount(...args);
    };
    return { ...deps, records };
  };
  return { wrapDeps, onListening: listening, url, release };
}
