/**
 * The README and docs/ ship in the package (package.json `files`), where a relative link to a file
 * the package does not ship (examples/, bench/) is a dead link. Every relative link in them must
 * point at an existing file that the package ships; what lives only in the repository is named as a
 * path in the text, not linked.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const shipped = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }).files;

/** The relative link targets of a Markdown text, outside fenced code blocks. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  const targets = [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('#'));
}

/** Whether a repository path is in the package: under one of `files`, or always-shipped package.json. */
function isShipped(path: string): boolean {
  return path === 'package.json' || shipped.some((entry) => path === entry || path.startsWith(`${entry}/`));
}

const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('links in the shipped docs', () => {
  it('finds the pages and their links (the check itself works)', () => {
    expect(pages.length).toBeGreaterThan(5);
    expect(relativeLinks('[a](docs/x.md) [b](https://example.com) [c](#top) [d](../y.ts "t")\n```\n[e](z.md)\n```')).toEqual(['docs/x.md', '../y.ts']);
    expect(isShipped('docs/images/a.png')).toBe(true);
    expect(isShipped('examples/agent.ts')).toBe(false);
  });

  it.each(pages)('%s links only to files the package ships', (page) => {
    const problems: string[] = [];
    for (const target of relativeLinks(readFileSync(join(root, page), 'utf8'))) {
      const file = decodeURIComponent(target.split('#')[0]!);
      const path = relative(root, resolve(dirname(join(root, page)), file)).split('\\').join('/');
      if (!existsSync(join(root, path))) problems.push(`${target}: no such file`);
      else if (!isShipped(path)) problems.push(`${target}: ${path} is not in the package (package.json "files")`);
    }
    expect(problems).toEqual([]);
  });
});
