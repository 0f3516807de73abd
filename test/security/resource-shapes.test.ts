import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BIG_BYTES,
  createFixture,
  descriptorsUnder,
  forEachBackend,
  invariantViolations,
  send,
  serverErrors,
  type BackendKind,
  type Endpoint,
  type Fixture,
} from './support/harness.ts';
import { RANGE_SHAPES, type RangeShape } from './support/resource-table.ts';

// Requests shaped to cost the server more than they cost the client: a thousand ranges (the
// CVE-2011-3192 shape), sixteen overlapping ranges over a large file, and idle connections.
// Every backend, behind its real proxy. The answer must be bounded: no more bytes than the
// file (plus multipart framing), no 500, no hang, no descriptor left open.

const SIZE = BIG_BYTES.length;

/** `idle` connections per backend behind a proxy; the app alone takes IDLE_DIRECT. */
const IDLE_BEHIND_PROXY: Partial<Record<BackendKind, number>> = {
  // The published apache.conf has 25 worker threads, and event MPM holds one per connection
  // until its request line arrives: more idle connections than that stall every download.
  apache: 20,
};
const IDLE_PROXIED_DEFAULT = 200;
/** 10,000 connections, each end one descriptor: the client ends live in a child process. */
const IDLE_DIRECT = 10_000;

async function descriptorCount(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

/** Opens `count` connections from this process, half of them with a request left unfinished. */
async function openIdle(endpoint: Endpoint, count: number): Promise<Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(endpoint.port, endpoint.host, () => {
            if (i % 2 === 1) socket.write('GET /dl/big.bin HTTP/1.1\r\nHost: x\r\n');
            resolve(socket);
          });
          socket.once('error', reject);
        }),
    ),
  );
  for (const socket of sockets) socket.on('error', () => undefined);
  return sockets;
}

/**
 * A child process holding `count` idle connections to `port` (so that this process holds only
 * the server ends), opened 250 at a time (under the listen backlog of 511, so no SYN is dropped and retried a second later). Resolves once they are open, with how many opened and
 * a function that closes them all (by ending the child).
 */
function idleChild(port: number, count: number): Promise<{ opened: number; end(): Promise<void> }> {
  const code = `
    const net = require('node:net');
    const port = Number(process.env.PORT), count = Number(process.env.COUNT);
    const sockets = [];
    const one = (i) => new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        if (i % 2) s.write('GET /dl/big.bin HTTP/1.1\\r\\nHost: x\\r\\n');
        sockets.push(s);
        resolve();
      });
      s.on('error', resolve);
    });
    (async () => {
      for (let i = 0; i < count; i += 250) {
        await Promise.all(Array.from({ length: Math.min(250, count - i) }, (_, j) => one(i + j)));
      }
      process.send(sockets.length);
    })();
    process.on('message', () => process.exit(0));
  `;
  const child = spawn(process.execPath, ['-e', code], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, PORT: String(port), COUNT: String(count) },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (opened) =>
      resolve({
        opened: Number(opened),
        end: async () => {
          child.send('end');
          await exited;
        },
      }),
    );
  });
}

function title(shape: RangeShape, kind: BackendKind): string {
  const want = shape.per?.[kind] ?? shape.expect;
  return `security: ${shape.what} → ${want.status}, at most ${want.maxBody} body bytes`;
}

describe('security: resource shapes, costly requests through every backend', function () {
  this.timeout(30_000);
  let fixture: Fixture;
  before(async function () {
    fixture = await createFixture();
  });
  after(async function () {
    await fixture?.cleanup();
  });

  forEachBackend(
    () => fixture,
    (kind, endpoint) => {
      afterEach(function () {
        expect(serverErrors(endpoint().app), 'errors reported as 500').to.deep.equal([]);
        endpoint().app.errors.length = 0;
      });

      for (const shape of RANGE_SHAPES) {
        it(title(shape, kind), async function () {
          const want = shape.per?.[kind] ?? shape.expect;
          const answer = await send(endpoint(), '/dl/big.bin', { headers: { Range: shape.range } });
          expect(invariantViolations(answer)).to.deep.equal([]);
          expect(answer.status, 'status').to.equal(want.status);
          expect(answer.body.length, 'body bytes').to.be.at.most(want.maxBody);
          if (answer.status === 200)
            expect(answer.body.equals(BIG_BYTES), 'the file').to.equal(true);
          if (answer.status === 206 && !/multipart/.test(answer.headers['content-type'] ?? '')) {
            const [, start, end] =
              /bytes (\d+)-(\d+)\//.exec(answer.headers['content-range'] ?? '') ?? [];
            const slice = BIG_BYTES.subarray(Number(start), Number(end) + 1);
            expect(answer.body.equals(slice), 'the bytes of the range').to.equal(true);
          }
          // A stream closes just after its last byte is written; give it that moment.
          for (let i = 0; i < 20 && endpoint().storage.liveStreams > 0; i++) await sleep(25);
          expect(endpoint().storage.liveStreams, 'streams left open').to.equal(0);
        });
      }

      if (kind === 'stream') {
        it(`security: ${IDLE_DIRECT} idle connections (half with a request left unfinished) → a download still answers, no descriptor kept`, async function () {
          const before = await descriptorCount();
          const started = Date.now();
          const idle = await idleChild(endpoint().port, IDLE_DIRECT);
          const openMs = Date.now() - started;
          try {
            const during = await descriptorCount();
            const answer = await send(endpoint(), '/dl/big.bin', { timeoutMs: 3000 });
            console.log(
              `      ${idle.opened} idle connections open in ${openMs} ms; +${during - before} descriptors in the app; a 1 MiB download answered in ${answer.ms} ms`,
            );
            expect(idle.opened, 'connections opened').to.equal(IDLE_DIRECT);
            expect(invariantViolations(answer)).to.deep.equal([]);
            expect([answer.status, answer.body.length]).to.deep.equal([200, SIZE]);
            expect(await descriptorsUnder(fixture.root), 'files kept open').to.deep.equal([]);
          } finally {
            await idle.end();
          }
          // The server ends close once the client ends do.
          let after = await descriptorCount();
          for (let i = 0; i < 50 && after > before + 20; i++) {
            await sleep(100);
            after = await descriptorCount();
          }
          expect(after, 'descriptors once the clients left').to.be.at.most(before + 20);
        });
      } else {
        const count = IDLE_BEHIND_PROXY[kind] ?? IDLE_PROXIED_DEFAULT;
        it(`security: ${count} idle connections to the proxy → a download still answers`, async function () {
          const sockets = await openIdle(endpoint(), count);
          try {
            const answer = await send(endpoint(), '/dl/big.bin', { timeoutMs: 3000 });
            expect(invariantViolations(answer)).to.deep.equal([]);
            const ok = kind === 'redirect' ? [302, 0] : [200, SIZE];
            expect([answer.status, answer.body.length]).to.deep.equal(ok);
            expect(await descriptorsUnder(fixture.root), 'files kept open').to.deep.equal([]);
          } finally {
            for (const socket of sockets) socket.destroy();
          }
        });
      }
    },
  );
});
