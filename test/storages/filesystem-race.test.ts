import { expect } from 'chai';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { Worker } from 'node:worker_threads';
import {
  downloadview,
  pathDownload,
  StorageFile,
  StorageInvalidNameError,
  StorageNotFoundError,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { request, type RawResponse } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';

/** How long the swaps run while files are requested. */
const RACE_MS = 3000;
const HTTP_CLIENTS = 6;
const DIRECT_CALLERS = 2;

const INSIDE = Buffer.from('inside the root\n');
/** Another length and other bytes at every offset, so a leak shows in a body, a size or a range. */
const OUTSIDE = Buffer.from('OUTSIDE the root: never to be served\n');

/**
 * Names that reach `sub/data.txt`: a one-segment link (the path that resolved, checked, then
 * opened another path), a link in a subdirectory, and the nested name itself.
 */
const NAMES = ['link.txt', 'nest/link.txt', 'sub/data.txt'];

/**
 * Swaps `dir` (a real directory under the root) for `link` (a link to the outside directory) and
 * back until `until`, each step one atomic rename, in a thread of its own so that the swaps run
 * while the main thread's opens and realpaths are in the thread pool. CommonJS: eval'd code.
 */
const SWAPPER = `
const { renameSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const { dir, parked, link, until } = workerData;
let swaps = 0;
while (Date.now() < until) {
  renameSync(dir, parked);
  renameSync(link, dir);
  renameSync(dir, link);
  renameSync(parked, dir);
  swaps++;
}
parentPort.postMessage(swaps);
`;

interface Tally {
  runs: number;
  served: number;
  refused: number;
  statuses: Record<string, number>;
  leaks: string[];
  unexpected: string[];
}

const tally = (): Tally => ({
  runs: 0,
  served: 0,
  refused: 0,
  statuses: {},
  leaks: [],
  unexpected: [],
});

/** Whether a response carries anything of the outside file: bytes, its size, its range. */
function carriesOutside(res: RawResponse): boolean {
  const total = `/${OUTSIDE.length}`;
  return (
    res.body.includes(OUTSIDE.subarray(0, 4)) ||
    res.headers['content-length'] === String(OUTSIDE.length) ||
    (res.headers['content-range']?.endsWith(total) ?? false)
  );
}

/** The inside file's answer to each kind of request, exactly. */
const HTTP_KINDS: {
  what: string;
  headers?: Record<string, string>;
  ok: (r: RawResponse) => boolean;
}[] = [
  { what: 'GET', ok: (r) => r.status === 200 && r.body.equals(INSIDE) },
  {
    what: 'HEAD',
    ok: (r) => r.status === 200 && r.headers['content-length'] === String(INSIDE.length),
  },
  {
    what: 'GET',
    headers: { range: 'bytes=0-3' },
    ok: (r) =>
      r.status === 206 &&
      r.body.equals(INSIDE.subarray(0, 4)) &&
      r.headers['content-range'] === `bytes 0-3/${INSIDE.length}`,
  },
];

async function httpClient(server: TestServer, until: number, into: Tally): Promise<void> {
  for (let i = 0; Date.now() < until; i++) {
    const kind = HTTP_KINDS[i % HTTP_KINDS.length]!;
    const route = Math.floor(i / HTTP_KINDS.length) % 2 === 0 ? 's' : 'p';
    const name = NAMES[Math.floor(i / (2 * HTTP_KINDS.length)) % NAMES.length]!;
    const method = kind.what === 'HEAD' ? 'HEAD' : 'GET';
    const res = await request(`${server.url}/${route}/${name}`, { method, headers: kind.headers });
    const label = `${method} /${route}/${name}${kind.headers ? ' (range)' : ''}: ${res.status}`;
    into.runs++;
    into.statuses[res.status] = (into.statuses[res.status] ?? 0) + 1;
    if (carriesOutside(res)) into.leaks.push(label);
    else if (kind.ok(res)) into.served++;
    else if (res.status === 404) into.refused++;
    else into.unexpected.push(label);
  }
}

/** What each storage call gives for the inside file, or a description of a leak. */
type Check = (storage: FileSystemStorage, name: string) => Promise<string | undefined>;

function directChecks(outsideDir: string): Record<string, Check> {
  const outsideBytes = (bytes: Buffer) =>
    bytes.equals(INSIDE) ? undefined : `bytes ${JSON.stringify(bytes.toString())}`;
  return {
    stat: async (storage, name) => {
      const { size } = await storage.stat(name);
      return size === INSIDE.length ? undefined : `size ${size}`;
    },
    openFile: async (storage, name) => outsideBytes(await (await storage.openFile(name)).read()),
    open: async (storage, name) => outsideBytes(await buffer(await storage.open(name))),
    path: async (storage, name) => {
      const path = await storage.path(name);
      return path.startsWith(outsideDir + sep) ? `path ${path}` : undefined;
    },
  };
}

async function directCaller(
  storage: FileSystemStorage,
  outsideDir: string,
  until: number,
  into: Tally,
): Promise<void> {
  const checks = Object.entries(directChecks(outsideDir));
  for (let i = 0; Date.now() < until; i++) {
    const [call, check] = checks[i % checks.length]!;
    const name = NAMES[Math.floor(i / checks.length) % NAMES.length]!;
    into.runs++;
    try {
      const leak = await check(storage, name);
      if (leak === undefined) into.served++;
      else into.leaks.push(`${call}(${name}): ${leak}`);
    } catch (err) {
      const kind = err instanceof Error ? err.name : String(err);
      into.statuses[kind] = (into.statuses[kind] ?? 0) + 1;
      if (err instanceof StorageInvalidNameError || err instanceof StorageNotFoundError) {
        into.refused++;
      } else {
        into.unexpected.push(`${call}(${name}): ${String(err)}`);
      }
    }
  }
}

function swapUntil(workerData: Record<string, unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SWAPPER, { eval: true, workerData });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

describe('security: a directory under the root swapped for a link to outside while files are read', function () {
  this.timeout(RACE_MS + 15_000);
  let root: string;
  let outside: string;

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'kdv-race-root-')));
    outside = await realpath(await mkdtemp(join(tmpdir(), 'kdv-race-outside-')));
    await writeFile(join(outside, 'data.txt'), OUTSIDE);
    await mkdir(join(root, 'sub'));
    await writeFile(join(root, 'sub', 'data.txt'), INSIDE);
    await mkdir(join(root, 'nest'));
    await symlink('sub/data.txt', join(root, 'link.txt'));
    await symlink('../sub/data.txt', join(root, 'nest', 'link.txt'));
    // The swap's other half, ready to be renamed over `sub`.
    await symlink(outside, join(root, 'sub-outside'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it(`gives nothing of the outside file in ${RACE_MS / 1000} s: HTTP GET, HEAD, Range; stat, open, openFile, path`, async () => {
    const storage = new FileSystemStorage({ location: root });
    const viaPath = pathDownload({ root, path: (ctx) => ctx.path.slice('/p/'.length) });
    const server = await serve(downloadview(), async (ctx) => {
      if (ctx.path.startsWith('/s/')) {
        ctx.body = new StorageFile(storage, ctx.path.slice('/s/'.length));
      } else if (ctx.path.startsWith('/p/')) {
        await viaPath(ctx);
      }
    });
    const http = tally();
    const direct = tally();
    let settled: PromiseSettledResult<unknown>[];
    try {
      const until = Date.now() + RACE_MS;
      // Settled, not raced: a failed swapper must not leave clients running past the server.
      settled = await Promise.allSettled([
        swapUntil({
          dir: join(root, 'sub'),
          parked: join(root, 'sub-inside'),
          link: join(root, 'sub-outside'),
          until,
        }),
        ...Array.from({ length: HTTP_CLIENTS }, () => httpClient(server, until, http)),
        ...Array.from({ length: DIRECT_CALLERS }, () =>
          directCaller(storage, outside, until, direct),
        ),
      ]);
    } finally {
      await server.close();
    }
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const swaps = (settled[0] as PromiseFulfilledResult<number>).value;

    console.log(
      `      ${swaps} swaps; HTTP: ${http.runs} requests, ${JSON.stringify(http.statuses)}, ` +
        `${http.leaks.length} leaked; storage calls: ${direct.runs}, ${direct.served} inside, ` +
        `${JSON.stringify(direct.statuses)}, ${direct.leaks.length} leaked`,
    );
    expect(
      { http: http.leaks.slice(0, 20), storage: direct.leaks.slice(0, 20) },
      'answers carrying the outside file (the first 20 of each)',
    ).to.deep.equal({ http: [], storage: [] });
    expect(http.unexpected.slice(0, 5)).to.deep.equal([]);
    expect(direct.unexpected.slice(0, 5)).to.deep.equal([]);
    // It raced: the inside file was served, and requests were refused, both ways.
    expect(http.served, 'HTTP answers with the inside file').to.be.above(0);
    expect(http.refused, 'HTTP answers 404').to.be.above(0);
    expect(direct.served, 'storage calls giving the inside file').to.be.above(0);
    // Refused for what was opened or resolved outside, not only for a name missing mid-swap.
    expect(direct.statuses.StorageInvalidNameError ?? 0, 'refused as outside').to.be.above(0);
    // Koa reports each 404 as an error event; nothing else may have been reported.
    expect(
      server.errors.filter((err) => (err as { status?: number }).status !== 404),
    ).to.deep.equal([]);
  });
});
