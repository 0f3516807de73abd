import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { tempTree } from '../support/fixtures.ts';
import { skipOrFail } from '../support/skip.ts';
import { answers } from './support/answers.ts';

const WITHOUT_PROC = fileURLToPath(new URL('./support/without-proc.ts', import.meta.url));

/** Names inside, links in and out of the root, broken ones, and hostile or impossible ones. */
const NAMES = [
  'hello.txt',
  'dir/inner.txt',
  'link-to-hello.txt',
  'dir/relative-link.txt',
  'link-to-dir/inner.txt',
  'out-file.txt',
  'out-dir/secret.txt',
  'dir/out-inner.txt',
  'dangling.txt',
  'loop.txt',
  'dir',
  'absent.txt',
  '../x',
  'a'.repeat(300),
];

async function withoutProc(
  root: string,
  options: { keepProc?: boolean } = {},
): Promise<{ answers: Record<string, string[]>; procReads: number }> {
  const flags = options.keepProc ? ['--keep-proc'] : [];
  // No coverage from the child: c8 merges it with this process's badly (lines run here then
  // show as missed). Node passes NODE_V8_COVERAGE on to children unless `env` sets it.
  const env = { ...process.env, NODE_V8_COVERAGE: '' };
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', WITHOUT_PROC, ...flags, root, ...NAMES],
    { env },
  );
  return JSON.parse(stdout) as { answers: Record<string, string[]>; procReads: number };
}

// Where there is no /proc (macOS, the BSDs) the storage resolves, confines, then opens: it
// cannot close the swap window there, but it must answer every name as Linux does.
describe('FileSystemStorage without /proc (the macOS and BSD fallback)', function () {
  this.timeout(30_000);
  let root: string;
  let outside: string;
  let cleanup: () => Promise<void>;

  before(async function () {
    if (process.platform !== 'linux') skipOrFail(this, 'the comparison runs where /proc exists');
    const tree = await tempTree({ 'hello.txt': 'hello\n', 'dir/inner.txt': 'inner file\n' });
    root = await realpath(tree.dir);
    outside = await realpath(await mkdtemp(join(tmpdir(), 'kdv-outside-')));
    cleanup = async () => {
      await tree.cleanup();
      await rm(outside, { recursive: true, force: true });
    };
    await writeFile(join(outside, 'secret.txt'), 'outside the root\n');
    await symlink('hello.txt', join(root, 'link-to-hello.txt'));
    await symlink('inner.txt', join(root, 'dir', 'relative-link.txt'));
    await symlink(join(root, 'dir'), join(root, 'link-to-dir'));
    await symlink(join(outside, 'secret.txt'), join(root, 'out-file.txt'));
    await symlink(outside, join(root, 'out-dir'));
    await symlink(join(outside, 'secret.txt'), join(root, 'dir', 'out-inner.txt'));
    await symlink(join(root, 'absent.txt'), join(root, 'dangling.txt'));
    await symlink('loop.txt', join(root, 'loop.txt'));
  });
  after(() => cleanup?.());

  it('answers every name as the descriptor check does, without reading /proc', async () => {
    const fallback = await withoutProc(root);
    const linux = await answers(new FileSystemStorage({ location: root }), NAMES);
    expect(fallback.procReads).to.equal(0);
    expect(fallback.answers).to.deep.equal(linux);
    // The table is no blank: files are served, escapes refused, impossible names not found.
    expect(linux['link-to-dir/inner.txt']).to.deep.equal([
      'ok: size 11',
      'ok: inner file\n',
      `ok: ${join(root, 'dir', 'inner.txt')}`,
      'ok: true',
    ]);
    expect(linux['out-dir/secret.txt']).to.deep.equal(Array(4).fill('ERR_STORAGE_INVALID_NAME'));
    expect(linux['a'.repeat(300)]!.slice(0, 3)).to.deep.equal(
      Array(3).fill('ERR_STORAGE_NOT_FOUND'),
    );
  });

  it('counts the readlinks of /proc it would make where /proc is seen (the count works)', async () => {
    expect((await withoutProc(root, { keepProc: true })).procReads).to.be.above(0);
  });
});
