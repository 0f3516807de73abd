import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { checkGraph, findCycles, readGraph, type Graph } from '../../scripts/check-layers.ts';

const graph = (
  local: Record<string, string[]>,
  external: Record<string, string[]> = {},
): Graph => ({
  local: new Map(Object.entries(local)),
  external: new Map(Object.entries(external)),
});

describe('scripts/check-layers (the dependency rules CI enforces)', () => {
  const broken: [string, Graph, RegExp][] = [
    [
      'a core module importing a driver',
      graph({ 'src/files/a.ts': ['storages/filesystem.ts'] }),
      /the core imports no driver/,
    ],
    [
      'a driver importing the core',
      graph({ 'storages/x.ts': ['src/files/storage-file.ts'] }),
      /only the storage contract/,
    ],
    [
      'the contract importing the core',
      graph({ 'src/storage.ts': ['src/middleware.ts'] }),
      /built on itself only/,
    ],
    [
      'src/http importing a backend',
      graph({ 'src/http/range.ts': ['src/backends/stream.ts'] }),
      /src\/http\/ imports only itself/,
    ],
    [
      'src/http doing I/O',
      graph({ 'src/http/range.ts': [] }, { 'src/http/range.ts': ['node:fs'] }),
      /does no I\/O/,
    ],
    [
      'shipped code importing a test fixture',
      graph({ 'src/a.ts': ['test/support/http.ts'] }),
      /shipped code imports only shipped code/,
    ],
    [
      'the benchmark importing test/',
      graph({ 'bench/run.ts': ['test/support/x.ts'] }),
      /through support\//,
    ],
    [
      'a core module importing an adapter',
      graph({ 'src/views.ts': ['src/local/path-file.ts'] }),
      /no adapter/,
    ],
    [
      'a cycle',
      graph({ 'src/a.ts': ['src/b.ts'], 'src/b.ts': ['src/a.ts'] }),
      /cycle: src\/a\.ts -> src\/b\.ts -> src\/a\.ts/,
    ],
  ];
  for (const [what, input, message] of broken) {
    it(`reports ${what}`, () => {
      const problems = checkGraph(input);
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(message);
    });
  }

  it('accepts the entry and the local adapters wiring the filesystem driver in', () => {
    const ok = graph({
      'src/index.ts': ['src/local/path-file.ts'],
      'src/local/path-file.ts': ['storages/filesystem.ts', 'src/files/storage-file.ts'],
      'storages/filesystem.ts': ['src/storage.ts', 'src/errors.ts'],
    });
    expect(checkGraph(ok)).to.deep.equal([]);
  });

  it('ignores a cycle made only of `import type` edges (erased at run time)', () => {
    const typeCycle: Graph = {
      ...graph({ 'test/a.ts': ['test/b.ts'], 'test/b.ts': ['test/a.ts'] }),
      runtime: new Map([
        ['test/a.ts', ['test/b.ts']],
        ['test/b.ts', []],
      ]),
    };
    expect(checkGraph(typeCycle)).to.deep.equal([]);
  });

  it('finds a three-module cycle once', () => {
    const cycles = findCycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
      ]),
    );
    expect(cycles).to.deep.equal([['a', 'b', 'c', 'a']]);
  });

  it("holds for this repository's src/ and storages/", () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const problems = checkGraph(readGraph(root)).filter(
      (p) => /^(src|storages)\//.test(p) || p.includes(' src/'),
    );
    expect(problems).to.deep.equal([]);
  });
});
