import { expect } from 'chai';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { DownloadFile, nginx, type DownloadFileStat, type DownloadRule } from '../src/index.ts';
import { RuleMatcher } from '../src/rule-matcher.ts';
import { compileRules, type CompiledRule } from '../src/rules.ts';

/** A file whose URL and path are given, counting how often each is asked for. */
class CountedFile extends DownloadFile {
  urls = 0;
  paths = 0;
  constructor(readonly where: { url?: string; path?: string }) {
    super('counted.txt');
  }
  override async stat(): Promise<DownloadFileStat> {
    return { size: 0 };
  }
  override async open(): Promise<Readable> {
    return Readable.from([]);
  }
  override async url() {
    this.urls++;
    return this.where.url;
  }
  override async localPath() {
    this.paths++;
    return this.where.path;
  }
}

/** The reference: every rule tried in turn, the first that gives a target wins. */
async function scan(rules: readonly CompiledRule[], file: DownloadFile) {
  for (const rule of rules) {
    const target = await rule.match(file);
    if (target) return { label: rule.label, ...target };
  }
  return undefined;
}

async function matched(rules: readonly CompiledRule[], file: DownloadFile) {
  const found = await new RuleMatcher(rules).first(file);
  return found && { label: found.rule.label, ...found.target };
}

// Few segment names, so that generated rules share, nest and repeat their prefixes, and
// generated files fall under several of them, or under none, or hold unsafe segments.
const segment = fc.constantFrom('a', 'b', 'media', 'a b', '%20', '..', '.', '', 'x%2Fy', '%zz');
const segments = fc.array(segment, { minLength: 0, maxLength: 4 });
const urlBase = fc.constantFrom('/', 'https://cdn.example/', 'https://cdn.example//');
const dirBase = fc.constantFrom('/srv/', '/srv/files/');
const rule = fc.oneof(
  fc
    .tuple(urlBase, segments)
    .map(([base, s]): DownloadRule => ({ sourceUrl: base + s.join('/'), destinationUrl: '/p/' })),
  fc
    .tuple(dirBase, fc.array(fc.constantFrom('a', 'b', 'media'), { maxLength: 3 }))
    .map(([base, s]): DownloadRule => ({ sourceDir: base + s.join('/'), destinationUrl: '/q/' })),
);
const file = fc.record(
  {
    url: fc
      .tuple(urlBase, segments, fc.constantFrom('', '?v=1/2', '#top'))
      .map(([base, s, tail]) => base + s.join('/') + tail),
    path: fc.tuple(dirBase, segments).map(([base, s]) => base + s.join('/')),
  },
  { requiredKeys: [] },
);

describe('RuleMatcher: the first rule that offloads a file, without trying every rule', () => {
  it('finds what trying every rule in turn finds, for generated rules and files', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rule, { maxLength: 12 }), file, async (rules, where) => {
        const compiled = compileRules(rules, nginx(), 'offload');
        const expected = await scan(compiled, new CountedFile(where));
        expect(await matched(compiled, new CountedFile(where))).to.deep.equal(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('asks a file for its URL and its path once each, with 10,000 rules', async () => {
    const rules: DownloadRule[] = [];
    for (let i = 0; i < 5000; i++) {
      rules.push({ sourceUrl: `/media/${i}/`, destinationUrl: '/p/' });
      rules.push({ sourceDir: `/srv/${i}/`, destinationUrl: '/q/' });
    }
    rules.push({ sourceDir: '/srv/last/', destinationUrl: '/last/' });
    const matcher = new RuleMatcher(compileRules(rules, nginx(), 'offload'));
    const file = new CountedFile({ url: '/elsewhere/a.txt', path: '/srv/last/a.txt' });
    const found = await matcher.first(file);
    expect(found?.target.destination).to.equal('/last/');
    expect(found?.rule.label).to.match(/^rule #10001 /);
    expect([file.urls, file.paths]).to.deep.equal([1, 1]);
  });

  it('does not ask for the path when the URL matched a rule placed before every path rule', async () => {
    const rules = compileRules(
      [
        { sourceUrl: '/media/', destinationUrl: '/p/' },
        { sourceDir: '/srv/', destinationUrl: '/q/' },
      ],
      nginx(),
      'offload',
    );
    const file = new CountedFile({ url: '/media/a.txt', path: '/srv/a.txt' });
    expect((await new RuleMatcher(rules).first(file))?.target.destination).to.equal('/p/');
    expect([file.urls, file.paths]).to.deep.equal([1, 0]);
  });
});
