import { describe, expect, it } from 'vitest';
import { describeFailure } from '#core/restores/fail-restore.ts';

describe('describeFailure', () => {
  it('shows our own step errors verbatim', () => {
    const cause = JSON.stringify({ errorType: 'LockLostError', errorMessage: 'The restore lost its lock.' });
    expect(describeFailure({ Error: 'LockLostError', Cause: cause })).toBe('The restore lost its lock.');
  });

  it('never shows internals of other errors', () => {
    const cause = JSON.stringify({ errorType: 'TypeError', errorMessage: "Cannot read properties of undefined (reading 'p')" });
    expect(describeFailure({ Error: 'TypeError', Cause: cause })).toBe('An internal error stopped the restore.');
    expect(describeFailure({ Error: 'States.Runtime', Cause: 'not json' })).toBe('An internal error stopped the restore.');
  });

  it('names timeouts, stops and transient failures', () => {
    expect(describeFailure({ Error: 'States.Timeout' })).toMatch(/time limit/);
    expect(describeFailure({ Error: 'States.Aborted' })).toMatch(/stopped/);
    expect(describeFailure({ Error: 'TransientError', Cause: JSON.stringify({ errorType: 'TransientError', errorMessage: 'x' }) })).toMatch(/kept failing/);
  });
});
