import { describe, expect, it } from 'vitest';
import { FUNCTIONS, STATE_MACHINES } from '#service/catalog.ts';
import { PERMISSIONS, permissionsFor } from '../../infra/permissions.ts';

describe('infra/permissions.ts', () => {
  it('has an entry for every function in the catalog', () => {
    const missing = Object.keys(FUNCTIONS).filter((name) => !PERMISSIONS[name]);
    expect(missing, 'add these functions to infra/permissions.ts').toEqual([]);
  });

  it('has no entry for a function that is not in the catalog', () => {
    const stale = Object.keys(PERMISSIONS).filter((name) => !(name in FUNCTIONS));
    expect(stale).toEqual([]);
  });

  it('names only state machines of the catalog', () => {
    const unknown = Object.entries(PERMISSIONS).flatMap(([name, entry]) =>
      Object.keys(entry.stateMachines ?? {})
        .filter((machine) => !STATE_MACHINES[machine])
        .map((machine) => `${name} → ${machine}`),
    );
    expect(unknown).toEqual([]);
  });

  it('refuses a function without an entry with a sentence saying where to add it', () => {
    expect(() => permissionsFor('brand-new-function', { mfa: 'required' })).toThrow(/brand-new-function.*infra\/permissions\.ts/);
  });
});
