import { expect } from 'chai';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBlocks, extractBlocks, isCompiled } from './check-docs.ts';

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
    it('accepts a complete block and reports a broken one at its Markdown line', () => {
      const blocks = extractBlocks(
        'x.md',
        md(
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
      );
      const problems = checkBlocks(ROOT, blocks);
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include({ file: 'x.md', line: 8 });
      expect(problems[0]?.message).to.match(/undefined/);
    });

    it('lets a marked fragment fail, and refuses a marker on a block that compiles', () => {
      const blocks = extractBlocks(
        'x.md',
        md(
          '<!-- fragment -->',
          '```ts',
          'app.use(x);',
          '```',
          '<!-- fragment -->',
          '```ts',
          'export {};',
          '```',
        ),
      );
      const problems = checkBlocks(ROOT, blocks);
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include({ file: 'x.md', line: 6 });
      expect(problems[0]?.message).to.match(/remove the marker/);
    });

    it('type-checks JavaScript blocks too', () => {
      const blocks = extractBlocks('x.md', md('```js', "import { nope } from 'node:path';", '```'));
      expect(checkBlocks(ROOT, blocks)).to.have.length(1);
    });
  });
});
