import { describe, expect, it } from 'vitest';
import { localImports, sources } from '../support/import-graph.ts';

/** Each folder and the top-level folders its modules must never import from. */
const FORBIDDEN: Record<string, string[]> = {
  // What runs in Lambda: built from lambdas/ and packages only.
  lambdas: ['infra', 'local', 'bench', 'test', 'cli', 'web'],
  // The shared definitions sit below both runtimes.
  'lambdas/service': ['lambdas/handlers', 'lambdas/runtime', 'lambdas/adapters'],
  // The local runtime takes the catalog and table schemas from lambdas/service, never from the CDK app.
  local: ['infra', 'bench', 'test', 'cli'],
  infra: ['bench', 'test', 'cli'],
  cli: ['infra', 'local', 'bench', 'test'],
};

describe('layers', () => {
  it.each(Object.entries(FORBIDDEN))('%s imports nothing from %j', (folder, forbidden) => {
    const arrows = sources(folder).flatMap((file) =>
      localImports(file)
        .filter((target) => forbidden.some((top) => target === top || target.startsWith(`${top}/`)))
        .map((target) => `${file} → ${target}`),
    );
    expect(arrows).toEqual([]);
  });

  it('sees the imports it checks', () => {
    // Guards the parser: if it stopped finding imports, every check above would pass.
    expect(localImports('local/dynamodb.ts')).toContain('lambdas/service/tables.ts');
    expect(localImports('infra/stacks/stateless-stack.ts')).toContain('lambdas/service/catalog.ts');
  });
});
