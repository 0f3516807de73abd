import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { downloadview, storageDownload } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { requireBinary } from './support/require-binary.ts';
import { offloadByUrl, PROXY_KINDS } from './support/offload-setups.ts';
import { startProxy, type RunningProxy } from './support/proxies.ts';

// Precompressed siblings offloaded through the real proxies, configured from docs/proxies/:
// the proxy sends the variant the app chose, labelled with the app's Content-Encoding.

const CSV = Buffer.from('id,name,amount\n'.repeat(2000));
const VARIANTS: Record<string, Buffer> = {
  'report.csv': CSV,
  'report.csv.br': brotliCompressSync(CSV),
  'report.csv.gz': gzipSync(CSV),
};

describe('precompressed variants behind the real proxies (docs/proxies configs)', function () {
  let root: string;
  let filesDir: string;

  before(async function () {
    root = await realpath(await mkdtemp(join(tmpdir(), 'kdv-precompressed-')));
    await chmod(root, 0o755);
    filesDir = join(root, 'files');
    await mkdir(filesDir, { mode: 0o755 });
    for (const [name, bytes] of Object.entries(VARIANTS)) {
      await writeFile(join(filesDir, name), bytes, { mode: 0o644 });
    }
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const kind of PROXY_KINDS) {
    describe(kind, function () {
      let app: TestServer | undefined;
      let proxy: RunningProxy | undefined;

      before(async function () {
        requireBinary(this, kind);
        const { backend, rule } = offloadByUrl(kind, filesDir, '/media/');
        const storage = new FileSystemStorage({ location: filesDir, baseUrl: '/media/' });
        app = await serve(
          downloadview({ backend, rules: [rule] }),
          storageDownload({ storage, path: 'report.csv', precompressed: ['br', 'gzip'] }),
        );
        proxy = await startProxy(kind, { upstreamPort: Number(new URL(app.url).port), filesDir });
      });
      after(async function () {
        await proxy?.stop();
        await app?.close();
      });

      const cases: [string, string, string | undefined][] = [
        ['br', 'report.csv.br', 'br'],
        ['gzip', 'report.csv.gz', 'gzip'],
        ['identity', 'report.csv', undefined],
      ];
      for (const [accept, file, encoding] of cases) {
        it(`Accept-Encoding: ${accept} → the proxy sends ${file}'s bytes, labelled ${encoding ?? 'as is'}`, async function () {
          // fetch() would decode the body: ask with a raw client instead.
          const res = await rawGet(`${proxy!.url}/report.csv`, { 'Accept-Encoding': accept });
          expect(res.status, await proxy!.logs()).to.equal(200);
          expect(res.body.equals(VARIANTS[file]!)).to.equal(true);
          expect(res.headers['content-encoding']).to.equal(encoding);
          expect(res.headers['content-disposition']).to.equal('attachment; filename="report.csv"');
          expect(res.headers['content-type']).to.match(/^text\/csv/);
          expect(res.headers['x-accel-redirect'] ?? res.headers['x-sendfile']).to.equal(undefined);
        });
      }

      it('a resume by date (If-Range: Last-Modified, shared by every variant) gets the whole variant, never a splice', async function () {
        const first = await rawGet(`${proxy!.url}/report.csv`, { 'Accept-Encoding': 'gzip' });
        const res = await rawGet(`${proxy!.url}/report.csv`, {
          'Accept-Encoding': 'identity',
          Range: 'bytes=100-',
          'If-Range': String(first.headers['last-modified']),
        });
        expect([res.status, res.body.equals(CSV)]).to.deep.equal([200, true]);
      });

      it('a range over the br variant: 206 with the variant bytes (lighttpd: the whole variant)', async function () {
        const res = await rawGet(`${proxy!.url}/report.csv`, {
          'Accept-Encoding': 'br',
          Range: 'bytes=10-19',
        });
        const br = VARIANTS['report.csv.br']!;
        // lighttpd serves no range of a body with a Content-Encoding: a 200 with the whole
        // variant is a correct answer (RFC 9110 §14.2), never a spliced one.
        const [status, bytes] = kind === 'lighttpd' ? [200, br] : [206, br.subarray(10, 20)];
        expect(res.status).to.equal(status);
        expect(res.body.equals(bytes)).to.equal(true);
        expect(res.headers['content-encoding']).to.equal('br');
      });
    });
  }
});

async function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | undefined>; body: Buffer }> {
  const { request } = await import('../support/http.ts');
  const res = await request(url, { headers });
  const flat = Object.fromEntries(
    Object.entries(res.headers).map(([name, value]) => [
      name,
      value === undefined ? undefined : String(value),
    ]),
  );
  return { status: res.status, headers: flat, body: res.body };
}
