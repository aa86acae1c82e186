import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const ALIASES = Object.entries(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).imports as Record<string, string>);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** The repository files a module imports (static, dynamic and type-only), as paths from the root. */
function localImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((match) => match[1]!);
  return specifiers.flatMap((specifier) => {
    if (specifier.startsWith('.')) return [relative(ROOT, resolve(ROOT, dirname(file), specifier))];
    const alias = ALIASES.find(([pattern]) => specifier.startsWith(pattern.replace('*', '')));
    return alias ? [relative(ROOT, resolve(ROOT, alias[1].replace('*', specifier.slice(alias[0].length - 1))))] : [];
  });
}

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
