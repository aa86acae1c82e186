import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type State = Record<string, any>;
const definition = JSON.parse(readFileSync(new URL('../../statemachines/backup.asl.json', import.meta.url), 'utf8')) as State;
const states = definition.States as Record<string, State>;

describe('backup state machine', () => {
  it('sends every failure of the main path to the failure step', () => {
    for (const [name, state] of Object.entries(states)) {
      if (name === 'RecordFailure' || state.Type === 'Fail') continue;
      expect(state.Catch, name).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RecordFailure' }]);
    }
    expect(states.RecordFailure!.Next).toBe('BackupFailed');
  });

  it('loops each export on its cursor until done, and keeps only counts from it', () => {
    const loop = states.ExportObjectTypes!.ItemProcessor.States as Record<string, State>;
    expect(loop.ExportFinished).toMatchObject({ Type: 'Choice', Default: 'ExportObject' });
    expect(loop.ExportFinished!.Choices[0]).toMatchObject({ Variable: '$.done', BooleanEquals: true, Next: 'ExportSummary' });
    expect(Object.keys(loop.ExportSummary!.Parameters).sort()).toEqual(['objectType.$', 'parts.$', 'records.$']);
  });

  it('ends a run that hangs, so that the status rule can fail it', () => {
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
  });
});
