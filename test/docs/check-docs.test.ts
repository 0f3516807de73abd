import { expect } from 'chai';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBlocks, extractBlocks, isCompiled, type DocProblem } from './check-docs.ts';
import { checkLinks, REPOSITORY_URL } from './check-links.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

const md = (...lines: string[]) => lines.join('\n');

describe('docs checker (test/docs/check-docs.ts)', () => {
  describe('extractBlocks', () => {
    it('finds fenced blocks with their language and first code line', () => {
      const blocks = extractBlocks(
        'x.md',
        md('# Title', '', '```ts', 'const a = 1;', '```', '', '```sh', 'npm test', '```'),
      );
      expect(blocks.map(({ line, language, code }) => ({ line, language, code }))).to.deep.equal([
        { line: 4, language: 'ts', code: 'const a = 1;' },
        { line: 8, language: 'sh', code: 'npm test' },
      ]);
    });

    it('reads the fragment marker on the last non-blank line before the fence', () => {
      const blocks = extractBlocks(
        'x.md',
        md(
          '<!-- fragment: inside a route -->',
          '',
          '```ts',
          'x;',
          '```',
          'text',
          '```ts',
          'y;',
          '```',
        ),
      );
      expect(blocks.map((b) => b.fragment)).to.deep.equal([true, false]);
    });

    it('keeps a longer fence open across a shorter one, and dedents indented blocks', () => {
      const blocks = extractBlocks(
        'x.md',
        md('- item', '  ````md', '  ```ts', '  a', '  ```', '  ````'),
      );
      expect(blocks).to.have.length(1);
      expect(blocks[0]?.code).to.equal('```ts\na\n```');
    });

    it('compiles ts and js blocks only', () => {
      const blocks = extractBlocks('x.md', md('```js', '```', '```nginx', '```', '```', '```'));
      expect(blocks.map(isCompiled)).to.deep.equal([true, false, false]);
    });
  });

  describe('checkBlocks', () => {
    // One program for every case, as the checker compiles all blocks at once.
    const cases = {
      'complete.md': md(
        '```ts',
        "import { join } from 'node:path';",
        "export const a: string = join('a', 'b');",
        '```',
        '',
        '```ts',
        'const list: string[] = [];',
        'const first: string = list[0];',
        '```',
      ),
      'fragments.md': md(
        '<!-- fragment -->',
        '```ts',
        'app.use(x);',
        '```',
        '<!-- fragment -->',
        '```ts',
        'export {};',
        '```',
      ),
      'script.md': md('```js', "import { nope } from 'node:path';", '```'),
    };
    let problems: DocProblem[] = [];
    before(() => {
      const blocks = Object.entries(cases).flatMap(([file, text]) => extractBlocks(file, text));
      problems = checkBlocks(ROOT, blocks);
    });
    const of = (file: string) => problems.filter((p) => p.file === file);

    it('accepts a complete block and reports a broken one at its Markdown line', () => {
      expect(of('complete.md')).to.have.length(1);
      expect(of('complete.md')[0]).to.include({ line: 8 });
      expect(of('complete.md')[0]?.message).to.match(/undefined/);
    });

    it('lets a marked fragment fail, and refuses a marker on a block that compiles', () => {
      expect(of('fragments.md')).to.have.length(1);
      expect(of('fragments.md')[0]).to.include({ line: 6 });
      expect(of('fragments.md')[0]?.message).to.match(/remove the marker/);
    });

    it('type-checks JavaScript blocks too', () => {
      expect(of('script.md')).to.have.length(1);
    });

    it('reports nothing else', () => {
      expect(problems).to.have.length(3);
    });
  });

  describe('checkLinks', () => {
    let root = '';
    const files: Record<string, string> = {
      'README.md': md(
        `[ok](${REPOSITORY_URL}blob/main/docs/a.md#first-heading) [relative](docs/a.md)`,
        '[def]: docs/a.md',
        `[gone](${REPOSITORY_URL}blob/main/docs/gone.md) [elsewhere](https://koajs.com/x)`,
      ),
      'docs/a.md': md(
        '# First heading',
        '## `code`: mod_xsendfile',
        '[here](#code-mod_xsendfile) [up](../README.md) [dir](guides/)',
        '[nothing](#nowhere) [missing](b.md) `[span](c.md)`',
        '```md',
        '[in a block](d.md)',
        '```',
      ),
    };
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'check-links-'));
      await mkdir(join(root, 'docs/guides'), { recursive: true });
      for (const [file, text] of Object.entries(files)) await writeFile(join(root, file), text);
    });
    after(() => rm(root, { recursive: true, force: true }));

    it('refuses relative links in README.md and links to missing files or headings', () => {
      const problems = checkLinks(root, Object.keys(files), (file) => files[file] ?? '');
      expect(problems.map(({ file, line, message }) => `${file}:${line} ${message}`)).to.deep.equal(
        [
          `README.md:1 relative link docs/a.md in README.md: npm shows the README alone; link to ${REPOSITORY_URL}blob/main/…`,
          `README.md:2 relative link docs/a.md in README.md: npm shows the README alone; link to ${REPOSITORY_URL}blob/main/…`,
          `README.md:3 link to a missing file: ${REPOSITORY_URL}blob/main/docs/gone.md`,
          'docs/a.md:4 link to a missing heading: #nowhere',
          'docs/a.md:4 link to a missing file: b.md',
        ],
      );
    });
  });
});
