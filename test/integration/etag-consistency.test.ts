import Router from '@koa/router';
import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, realpath, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  apache,
  downloadview,
  nginx,
  storageDownload,
  type Backend,
  type DownloadRule,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { request, type RawResponse } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type RunningProxy } from './support/proxies.ts';

// A download that starts offloaded and resumes streamed (a rule added or removed, a fallback),
// or the reverse, sends If-Range with the ETag or date it got first: both ways of sending a
// file must give the same validators, in every `etag` mode, or the resume restarts from zero.
// Through the real Apache (mod_xsendfile) and nginx, configured from docs/proxies/.

const FILES: Record<string, string> = {
  'hello.txt': 'hello, offloaded or streamed\n',
  'reports/résumé 2026.txt': 'a name to encode, and more bytes than the ranges asked\n',
};
/** A fixed mtime, so that a tag made from it is the same however late the test runs. */
const MODIFIED = new Date('2026-03-04T05:06:07Z');

/** The `etag` option as an app may give it: absent (the default), or each mode. */
const MODES = [undefined, 'stat', 'content'] as const;

interface Setup {
  readonly backend: () => Backend;
  readonly rules: (filesDir: string) => DownloadRule[];
  /** The offload header the app sends to this proxy. */
  readonly header: string;
}

const SETUPS = {
  apache: {
    backend: apache,
    rules: (dir: string) => [{ sourceDir: dir, destinationDir: dir }],
    header: 'x-sendfile',
  },
  nginx: {
    backend: () => nginx(),
    rules: (dir: string) => [{ sourceDir: dir, destinationUrl: '/protected/' }],
    header: 'x-accel-redirect',
  },
} satisfies Record<string, Setup>;

/** files/ under a fresh world-readable directory: proxy workers run unprivileged. */
async function createFiles(): Promise<{ root: string; filesDir: string }> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'kdv-etag-')));
  await chmod(root, 0o755);
  const filesDir = join(root, 'files');
  for (const [name, text] of Object.entries(FILES)) {
    const path = join(filesDir, name);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, text, { mode: 0o644 });
    await utimes(path, MODIFIED, MODIFIED);
  }
  return { root, filesDir };
}

function routes(filesDir: string) {
  const router = new Router();
  router.get(
    '/dl/*path',
    storageDownload({ storage: new FileSystemStorage({ location: filesDir }) }),
  );
  return router.routes();
}

const urlPath = (name: string) => `/dl/${name.split('/').map(encodeURIComponent).join('/')}`;

/** ETag and Last-Modified of an answer, as a client keeps them to resume. */
function validators(res: RawResponse): { etag: unknown; lastModified: unknown } {
  return { etag: res.headers['etag'], lastModified: res.headers['last-modified'] };
}

describe('integration: offload and streaming send the same ETag and Last-Modified', function () {
  let root: string;
  let filesDir: string;

  before(async function () {
    ({ root, filesDir } = await createFiles());
  });

  after(async function () {
    await rm(root, { recursive: true, force: true });
  });

  for (const [kind, setup] of Object.entries(SETUPS) as [keyof typeof SETUPS, Setup][]) {
    describe(kind, function () {
      before(function () {
        requireBinary(this, kind);
      });

      for (const etag of MODES) {
        describeMode(kind, setup, etag);
      }
    });
  }

  function describeMode(kind: keyof typeof SETUPS, setup: Setup, etag: (typeof MODES)[number]) {
    describe(`etag: ${etag === undefined ? 'default' : `'${etag}'`}`, function () {
      /** The app that offloads to the proxy in front of it. */
      let offloading: TestServer | undefined;
      /** The same app without rules: every file streamed by Node. */
      let streaming: TestServer | undefined;
      let proxy: RunningProxy | undefined;

      before(async function () {
        const options = etag === undefined ? {} : { etag };
        const rules = setup.rules(filesDir);
        offloading = await serve(
          downloadview({ ...options, backend: setup.backend(), rules }),
          routes(filesDir),
        );
        streaming = await serve(downloadview(options), routes(filesDir));
        const upstreamPort = Number(new URL(offloading.url).port);
        proxy = await startProxy(kind, { upstreamPort, filesDir });
      });

      after(async function () {
        await proxy?.stop();
        await offloading?.close();
        await streaming?.close();
      });

      afterEach(function () {
        const errors = [...(offloading?.errors ?? []), ...(streaming?.errors ?? [])];
        expect(errors.map(String), 'errors the apps reported').to.deep.equal([]);
      });

      for (const name of Object.keys(FILES)) {
        it(`GET ${JSON.stringify(name)} has the same validators through ${kind} as streamed`, async function () {
          const path = urlPath(name);
          const [direct, proxied, streamed] = await Promise.all([
            request(offloading!.url + path),
            fetch(proxy!.url + path),
            request(streaming!.url + path),
          ]);
          expect(direct.headers[setup.header], `the app offloads ${path}`).to.be.a('string');
          expect([proxied.status, await proxied.text()]).to.deep.equal([200, FILES[name]]);
          expect(streamed.status).to.equal(200);
          expect(validators(streamed).etag, 'streamed ETag').to.be.a('string');
          // fetch joins repeated headers with ', ': a proxy's own tag beside the app's shows.
          const offloaded = {
            etag: proxied.headers.get('etag') ?? undefined,
            lastModified: proxied.headers.get('last-modified') ?? undefined,
          };
          expect(offloaded, `offloaded (through ${kind}) vs streamed`).to.deep.equal(
            validators(streamed),
          );
          expect(validators(direct), 'offload answer of the app vs streamed').to.deep.equal(
            validators(streamed),
          );
        });
      }

      it(`a copy cached from streaming revalidates through ${kind} with If-None-Match (304)`, async function () {
        const path = urlPath('hello.txt');
        const cached = await request(streaming!.url + path);
        const revalidated = await request(proxy!.url + path, {
          headers: { 'If-None-Match': String(cached.headers['etag']) },
        });
        expect(revalidated.status, `If-None-Match: ${cached.headers['etag']}`).to.equal(304);
        expect(revalidated.headers['etag']).to.equal(cached.headers['etag']);
      });

      const resumes: [string, (res: RawResponse) => string][] = [
        ['the ETag', (res) => String(res.headers['etag'])],
        ['the Last-Modified date', (res) => String(res.headers['last-modified'])],
      ];
      for (const [what, ifRange] of resumes) {
        it(`a download begun streamed resumes through ${kind} with If-Range: ${what} (206)`, async function () {
          const path = urlPath('hello.txt');
          const first = await request(streaming!.url + path, { headers: { Range: 'bytes=0-4' } });
          expect(first.status).to.equal(206);
          const resumed = await request(proxy!.url + path, {
            headers: { Range: 'bytes=5-', 'If-Range': ifRange(first) },
          });
          expect(resumed.status, `If-Range: ${ifRange(first)}`).to.equal(206);
          expect(resumed.body.toString()).to.equal(FILES['hello.txt']!.slice(5));
        });
      }
    });
  }
});
