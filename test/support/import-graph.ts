import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The repository's import graph as the structure tests read it: which files a folder
 * holds and which repository files each imports (relative paths and package.json
 * `imports` aliases; packages are left out).
 */

const ROOT = resolve(import.meta.dirname, '../..');
const ALIASES = Object.entries(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).imports as Record<string, string>);

/** The TypeScript files under a folder, as paths from the root. */
export function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

/** The repository files a module imports (static, dynamic and type-only), as paths from the root. */
export function localImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((match) => match[1]!);
  return specifiers.flatMap((specifier) => {
    if (specifier.startsWith('.')) return [relative(ROOT, resolve(ROOT, dirname(file), specifier))];
    const alias = ALIASES.find(([pattern]) => specifier.startsWith(pattern.replace('*', '')));
    return alias ? [relative(ROOT, resolve(ROOT, alias[1].replace('*', specifier.slice(alias[0].length - 1))))] : [];
  });
}
