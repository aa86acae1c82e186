import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Builds the admin web page: web/src/main.ts bundled by esbuild into one ES module,
 * next to web/index.html and web/styles.css. Answers the files in memory so that the
 * local runtime can serve them without touching disk; `node web/build.ts` writes
 * them to web/dist/ for the CDK to upload to S3.
 */

const WEB = dirname(fileURLToPath(import.meta.url));

/** One file of the built page: its path under the site root and its bytes. */
export interface WebAsset {
  path: string;
  contentType: string;
  body: Buffer;
}

/** Bundles the page (≈ 50 ms here); throws with esbuild's messages on a type-stripping error. */
export async function buildWebAssets(options: { minify?: boolean } = {}): Promise<WebAsset[]> {
  const result = await build({
    entryPoints: [join(WEB, 'src', 'main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: false,
    write: false,
    outfile: 'app.js',
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('app.js'));
  if (!js) throw new Error('esbuild produced no app.js');
  return [
    { path: '/index.html', contentType: 'text/html; charset=utf-8', body: await readFile(join(WEB, 'index.html')) },
    { path: '/styles.css', contentType: 'text/css; charset=utf-8', body: await readFile(join(WEB, 'styles.css')) },
    { path: '/app.js', contentType: 'text/javascript; charset=utf-8', body: Buffer.from(js.contents) },
  ];
}

/** `node web/build.ts [outDir]`: writes the page to web/dist (or outDir). */
async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? join(WEB, 'dist'));
  const started = Date.now();
  const assets = await buildWebAssets();
  for (const asset of assets) {
    const file = join(outDir, asset.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, asset.body);
  }
  console.log(`Built the web page into ${outDir} in ${Date.now() - started} ms (${assets.map((a) => `${a.path.slice(1)} ${a.body.length} B`).join(', ')}).`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
