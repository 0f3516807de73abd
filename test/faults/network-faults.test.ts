import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Agent, createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { downloadview, HttpFile, StorageFile } from '../../src/index.ts';
import { S3Storage } from '../../storages/s3.ts';
import { freePort, s3Client, startS3Server, type S3TestServer } from '../../support/s3-server.ts';
import { randomFile } from '../support/fixtures.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { startFaultRelay, type FaultRelay, type RelayFault } from './support/fault-relay.ts';
import {
  answersNext,
  descriptorCount,
  download,
  outcomeOf,
  settle,
  theOneErrorCode,
  type Outcome,
} from './support/outcome.ts';

const FILE = randomFile(1024 * 1024);
const AFTER_HEADERS = 64 * 1024;
// The S3 server is a separate process: its normal answers can take a few hundred milliseconds
// on a busy machine, which must not count as a stall.
const STALL_MS = 1500;

/** What the client must see, and the code of the app's one error (a 5xx's cause). */
interface Expected {
  readonly outcome: Outcome['kind'];
  readonly status?: number;
  readonly code: string;
}

function expectOutcome(outcome: Outcome, expected: Expected) {
  expect(outcome.kind).to.equal(expected.outcome);
  if (outcome.kind === 'refused') expect(outcome.status).to.equal(expected.status);
}

describe('faults: the network under S3 and HttpFile, a download ends correctly or visibly broken', function () {
  this.timeout(30_000);

  describe(`S3Storage (s3rver through a relay that breaks its answers, stallTimeout ${STALL_MS} ms)`, () => {
    let s3: S3TestServer;
    let relay: FaultRelay;
    let server: TestServer;
    let name: string;
    before(async () => {
      s3 = await startS3Server();
      relay = await startFaultRelay(s3.port);
      // No keep-alive: each request gets its own connection, and thus its own fault.
      const agent = new Agent({ keepAlive: false });
      const client = s3Client(`http://127.0.0.1:${relay.port}`, undefined, { httpAgent: agent });
      const storage = new S3Storage({ client, bucket: s3.bucket, prefix: `${randomUUID()}/` });
      name = 'object.bin';
      await storage.save(name, FILE);
      server = await serve(downloadview({ stallTimeout: STALL_MS }), (ctx) => {
        ctx.body = new StorageFile(storage, name);
      });
    });
    after(async () => {
      await server?.close();
      await relay?.close();
      await s3?.stop();
    });
    afterEach(() => {
      relay.fault = { kind: 'pass' };
      server.errors.length = 0;
    });

    const cases: readonly (Expected & { fault: RelayFault; what: string })[] = [
      {
        what: 'the connection reset mid-object',
        fault: { kind: 'resets after', bytes: AFTER_HEADERS },
        outcome: 'aborted',
        code: 'ECONNRESET',
      },
      {
        what: 'the object stalling mid-way',
        fault: { kind: 'stalls after', bytes: AFTER_HEADERS },
        outcome: 'aborted',
        code: 'ERR_STORAGE_STALLED',
      },
      {
        what: 'the endpoint accepting the connection and never answering',
        fault: { kind: 'stalls after', bytes: 0 },
        outcome: 'refused',
        status: 504,
        code: 'ERR_STORAGE_STALLED',
      },
      {
        what: 'the connection reset before any answer',
        fault: { kind: 'resets after', bytes: 0 },
        outcome: 'refused',
        status: 503,
        code: 'ERR_STORAGE_UNAVAILABLE',
      },
    ];
    for (const { what, fault, ...expected } of cases) {
      const shown = expected.status ?? expected.outcome;
      it(`${what}: ${shown}, one error, no descriptor left, next served`, async () => {
        await answersNext(server, `/${name}`, FILE);
        // The SDK's connections to the relay, and the relay's to s3rver, are the storage's
        // network, not the download's: counted are files and every other socket.
        const storageNetwork = [relay.port, s3.port];
        const baseline = await descriptorCount(storageNetwork);
        relay.fault = fault;
        const wire = await download(server.url, `/${name}`);
        relay.fault = { kind: 'pass' };
        expectOutcome(outcomeOf(wire, FILE), expected);
        if (expected.code === 'ERR_STORAGE_STALLED') {
          expect(wire.ms).to.be.within(STALL_MS, STALL_MS * 1.5 + 1000);
        }
        // The stalled connection stays open on the relay until cut: a storage that answers
        // late. The download must not care any more.
        relay.cut();
        await settle(baseline, { ignorePorts: storageNetwork });
        expect(theOneErrorCode(server)).to.equal(expected.code);
        await answersNext(server, `/${name}`, FILE);
      });
    }

    it('the endpoint down (connection refused): 503, one error, no descriptor left', async () => {
      const downPort = await freePort();
      const down = new S3Storage({
        client: s3Client(`http://127.0.0.1:${downPort}`),
        bucket: s3.bucket,
      });
      const refused = await serve(downloadview({ stallTimeout: STALL_MS }), (ctx) => {
        ctx.body = new StorageFile(down, name);
      });
      try {
        const baseline = await descriptorCount([downPort]);
        const wire = await download(refused.url, `/${name}`);
        expectOutcome(outcomeOf(wire, FILE), { outcome: 'refused', status: 503, code: '' });
        await settle(baseline, { ignorePorts: [downPort] });
        expect(theOneErrorCode(refused)).to.equal('ERR_STORAGE_UNAVAILABLE');
      } finally {
        await refused.close();
      }
    });
  });

  describe('HttpFile (an origin that breaks, stallTimeout 300 ms)', () => {
    const STALL = 300;
    let origin: Server;
    let server: TestServer;
    let breakWith: ((res: ServerResponse, range?: string) => void) | undefined;
    // Every connection, idle ones included: closeAllConnections() leaves out those with no
    // request yet.
    const originSockets = new Set<Socket>();
    const cutOriginConnections = () => originSockets.forEach((socket) => socket.destroy());
    const honest = (res: ServerResponse, method: string) => {
      res.writeHead(200, {
        'Content-Length': FILE.length,
        ETag: '"v1"',
        'Accept-Ranges': 'bytes',
        Connection: 'close',
      });
      res.end(method === 'HEAD' ? undefined : FILE);
    };
    before(async () => {
      origin = createServer((req, res) => {
        // HEAD (the metadata) is answered honestly; the fault is in what carries bytes.
        if (breakWith && req.method === 'GET') breakWith(res, req.headers.range);
        else honest(res, req.method ?? 'GET');
      });
      await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
      origin.on('connection', (socket: Socket) => {
        originSockets.add(socket);
        socket.once('close', () => originSockets.delete(socket));
      });
      const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/file.bin`;
      // The origin's own timeout is longer: the stall timeout is what answers the client. It
      // then ends the fetch the Storage contract cannot cancel (a stall before the headers).
      server = await serve(downloadview({ stallTimeout: STALL }), (ctx) => {
        ctx.body = new HttpFile(url, { timeout: 2000 });
      });
    });
    after(async () => {
      await server?.close();
      cutOriginConnections();
      await new Promise((resolve) => origin?.close(resolve));
    });
    afterEach(() => {
      breakWith = undefined;
      server.errors.length = 0;
    });

    const headers = { 'Content-Length': FILE.length, ETag: '"v1"', Connection: 'close' };
    const cases: readonly (Expected & {
      what: string;
      range?: string;
      answer: (res: ServerResponse, range?: string) => void;
    })[] = [
      {
        what: 'answers 500',
        answer: (res) => res.writeHead(500, { Connection: 'close' }).end('down'),
        outcome: 'refused',
        status: 502,
        code: 'ERR_STORAGE_BAD_ORIGIN',
      },
      {
        what: 'resets before answering',
        answer: (res) => res.socket?.resetAndDestroy(),
        outcome: 'refused',
        status: 502,
        code: 'ERR_STORAGE_BAD_ORIGIN',
      },
      {
        what: 'resets mid-body',
        answer: (res) => {
          res.writeHead(200, headers).write(FILE.subarray(0, AFTER_HEADERS));
          setTimeout(() => res.socket?.resetAndDestroy(), 50);
        },
        outcome: 'aborted',
        // After the headers the transport's own error is reported, as it is for S3.
        code: 'UND_ERR_SOCKET',
      },
      {
        what: 'stalls before answering',
        answer: () => {},
        outcome: 'refused',
        status: 504,
        code: 'ERR_STORAGE_STALLED',
      },
      {
        what: 'stalls after the headers and some bytes',
        answer: (res) => void res.writeHead(200, headers).write(FILE.subarray(0, AFTER_HEADERS)),
        outcome: 'aborted',
        code: 'ERR_STORAGE_STALLED',
      },
      {
        what: 'sends a wrong Content-Range (bytes 0-9 for bytes=10-19)',
        range: 'bytes=10-19',
        answer: (res) =>
          res
            .writeHead(206, {
              'Content-Range': `bytes 0-9/${FILE.length}`,
              'Content-Length': 10,
              ETag: '"v1"',
              Connection: 'close',
            })
            .end(FILE.subarray(0, 10)),
        outcome: 'refused',
        status: 502,
        code: 'ERR_STORAGE_BAD_ORIGIN',
      },
    ];
    for (const { what, range, answer, ...expected } of cases) {
      const shown = expected.status ?? expected.outcome;
      it(`the origin ${what}: ${shown}, one error, no descriptor left, next served`, async () => {
        await answersNext(server, '/file.bin', FILE);
        // Node's fetch pools its connections to the origin on a schedule of its own (after an
        // aborted body it opens an idle one, closed 4 s later): the storage's network, left out.
        const originNetwork = [(origin.address() as AddressInfo).port];
        const baseline = await descriptorCount(originNetwork);
        breakWith = answer;
        const wire = await download(server.url, '/file.bin', {
          headers: range ? { Range: range } : {},
        });
        breakWith = undefined;
        expectOutcome(outcomeOf(wire, FILE), expected);
        if (expected.code === 'ERR_STORAGE_STALLED') {
          expect(wire.ms).to.be.within(STALL, STALL * 1.5 + 1000);
        }
        // A fetch that stalled before its headers ends by HttpFile's own timeout (2 s here).
        await settle(baseline, { ignorePorts: originNetwork });
        expect(theOneErrorCode(server)).to.equal(expected.code);
        await answersNext(server, '/file.bin', FILE);
      });
    }
  });
});
