import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** The documentation a reader follows: the README, the guides, and the notes next to the code. */
const DOCUMENTS = [
  'README.md',
  'ARCHITECTURE.md',
  'CHANGELOG.md',
  'web/README.md',
  ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`),
];

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Text outside fenced code blocks (commands and sample output are not links). */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

function anchors(file: string): Set<string> {
  return new Set([...prose(read(file)).matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1]!.replace(/`/g, ''))));
}

/** Paths gitignore names are outputs (a benchmark's results, a build): they may be absent. */
function ignored(path: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', path], { cwd: ROOT });
    return true;
  } catch {
    return false;
  }
}

describe('documentation', () => {
  it('keeps the README a guide of at most 200 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(200);
  });

  it.each(DOCUMENTS)('%s: every relative link and anchor resolves', (file) => {
    const broken: string[] = [];
    for (const [, target] of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = path ? relative(ROOT, resolve(ROOT, dirname(file), path)) : file;
      if (!existsSync(join(ROOT, resolved))) broken.push(`${target}: no file ${resolved}`);
      else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${target}: no heading #${anchor} in ${resolved}`);
    }
    expect(broken).toEqual([]);
  });

  const named = (file: string) => [...read(file).matchAll(/`((?:\.ci|bench|cli|docs|infra|lambdas|local|statemachines|test|web)\/[\w./-]+)`/g)].map((match) => match[1]!);

  it.each(DOCUMENTS)('%s: every file of the repository it names exists', (file) => {
    expect(named(file).filter((path) => !existsSync(join(ROOT, path)) && !ignored(path))).toEqual([]);
  });

  it('sees the paths it checks', () => {
    // Guards the pattern: if it stopped matching, the check above would pass on anything.
    expect(named('ARCHITECTURE.md')).toContain('lambdas/service/catalog.ts');
  });

  it.each(DOCUMENTS.filter((file) => file !== 'CHANGELOG.md'))('%s: no dated lab notes (history goes to CHANGELOG.md)', (file) => {
    expect(prose(read(file)).match(/\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* 20\d\d\b|this session|in earlier runs/gi)).toBeNull();
  });
});
