import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localImports, sources } from '../support/import-graph.ts';

/**
 * The shape of the core: a step (a use case a handler calls) is called by handlers
 * only, and builds on policy, model, port and shared modules; ports speak in model
 * types only. So a step file never doubles as a library, and the storage behind a port
 * can change without touching a step.
 */

const CORE = sources('lambdas/core');
/** The use cases' folders: their modules that a handler imports are the steps. */
const USE_CASES = ['lambdas/core/backups/', 'lambdas/core/restores/', 'lambdas/core/totp/', 'lambdas/core/reverts/'];
/**
 * Shared modules a handler may read too: a folder's policy (restores-api reads the
 * planning budget) and the ports its steps pick from (`<area>-deps.ts`).
 */
const isSharedByName = (file: string) => /-(policy|deps)\.ts$/.test(file);
const STEPS = new Set(
  sources('lambdas/handlers')
    .flatMap(localImports)
    .filter((target) => USE_CASES.some((folder) => target.startsWith(folder)) && !isSharedByName(target)),
);
/** Plain shapes: `model.ts` and `<thing>-model.ts` directly in the core. */
const isModel = (file: string) => file.startsWith('lambdas/core/') && !file.slice('lambdas/core/'.length).includes('/') && /(^|-)model\.ts$/.test(basename(file));

describe('core structure', () => {
  it('no core module imports a step: steps are what handlers call', () => {
    const arrows = CORE.flatMap((file) =>
      localImports(file)
        .filter((target) => STEPS.has(target))
        .map((target) => `${file} → ${target}`),
    );
    expect(arrows).toEqual([]);
  });

  it('ports import only model modules', () => {
    const arrows = sources('lambdas/core/ports').flatMap((file) =>
      localImports(file)
        .filter((target) => !isModel(target))
        .map((target) => `${file} → ${target}`),
    );
    expect(arrows).toEqual([]);
  });

  it('sees the steps and imports it checks', () => {
    // Guards the reading: if it stopped finding steps or imports, the checks above would pass.
    for (const step of ['plan-restore.ts', 'build-restore-plan.ts', 'apply-restore-batch.ts', 'start-restore.ts', 'request-backup.ts', 'fail-backup.ts', 'zip-backup.ts', 'enrol-totp.ts']) {
      expect([...STEPS].map((file) => basename(file))).toContain(step);
    }
    expect(localImports('lambdas/core/restores/plan-restore.ts')).toContain('lambdas/core/restores/restore-policy.ts');
    expect(localImports('lambdas/core/ports/restore-repository.ts')).toContain('lambdas/core/restore-model.ts');
    expect(isModel('lambdas/core/restore-model.ts') && isModel('lambdas/core/model.ts') && !isModel('lambdas/core/restores/restore-policy.ts')).toBe(true);
  });
});
