import { startBackup } from '#core/backups/backup-start.ts';
import type { TestRuntime } from './local-runtime.ts';

/**
 * A request killed after storing its backup QUEUED, before StartExecution returned:
 * acme's request runs with a StartExecution that never answers. Answers the stuck backup's id.
 */
export async function stuckBackup(runtime: TestRuntime): Promise<string> {
  const killed = { ...runtime.deps, workflows: { start: () => new Promise<void>(() => {}), describe: runtime.deps.workflows.describe.bind(runtime.deps.workflows) } };
  void startBackup({ accountId: 'acme', requestedBy: 'admin@acme.example', trigger: 'api' }, killed);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { body } = await runtime.api('GET', '/v1/backups?limit=1');
    if (body.items[0]?.status === 'QUEUED') return body.items[0].id as string;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('The killed request never stored its backup');
}
