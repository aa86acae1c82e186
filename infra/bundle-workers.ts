import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from './paths.ts';

/**
 * `node infra/bundle-workers.ts <bundle dir>`: run by every function's esbuild bundling
 * (afterBundling hook). A worker thread started with `new Worker(new URL('./x.ts',
 * import.meta.url))` is a separate entry point that esbuild leaves out of index.mjs;
 * this finds each such URL in the bundle and bundles that module from lambdas/ next to
 * it under the same name, so the relative URL still resolves inside the Lambda.
 */
const WORKER_URL = /new URL\(\s*["']\.\/([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g;

const outputDir = process.argv[2];
if (!outputDir) throw new Error('usage: node infra/bundle-workers.ts <bundle dir>');
const bundle = readFileSync(join(outputDir, 'index.mjs'), 'utf8');
const names = new Set([...bundle.matchAll(WORKER_URL)].map((match) => match[1]!));
for (const name of names) {
  const sources = findFiles(join(PROJECT_ROOT, 'lambdas'), basename(name));
  if (sources.length !== 1) throw new Error(`The bundle loads ./${name}: expected one lambdas/**/${basename(name)}, found ${sources.length}`);
  await build({
    entryPoints: [sources[0]!],
    outfile: join(outputDir, name),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    logLevel: 'warning',
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
}
// The worker keeps its .ts name (the URL says so): declare the folder's modules ESM.
if (names.size) writeFileSync(join(outputDir, 'package.json'), '{"type":"module"}\n');

function findFiles(dir: string, name: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return findFiles(path, name);
    return entry === name ? [path] : [];
  });
}
