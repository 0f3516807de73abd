import contentDisposition from 'content-disposition';
import { expect } from 'chai';
import type { Context } from 'koa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DownloadFile,
  nginx,
  objectDownload,
  StorageFile,
  VirtualFile,
  type Storage,
} from '../../src/index.ts';
import type { CountingStorage } from '../support/fixtures.ts';
import {
  baseRouter,
  createFixture,
  forEachBackend,
  HELLO,
  invariantViolations,
  send,
  serverErrors,
  type Answer,
  type BackendKind,
  type Fixture,
} from './support/harness.ts';
import { INJECTED_HEADERS, INJECTION, onDisk } from './support/injection-table.ts';

// The injection table (support/injection-table.ts) through every header the library writes,
// for every backend behind its real proxy: Content-Disposition (from a `filename` option, a
// record's name field, a name on disk), Content-Type and ETag (reported by a storage, or a
// record's type field), Location and X-Offload-Url (a storage's URL), X-Accel-Redirect and
// X-Sendfile (from the name and from the URL). No value may split a header, malform one, or
// turn into a 500: each is cleaned, ignored, or the file is declined and streamed instead.

/** A storage that reports `value` as the file's media type, ETag and URL (under `origin`). */
function saying(inner: CountingStorage, value: string, origin: string): Storage {
  return {
    driver: inner.driver,
    stat: async (name) => ({ ...(await inner.stat(name)), contentType: value, etag: value }),
    open: (name, range) => inner.open(name, range),
    path: (name) => inner.path!(name),
    url: async () => `${origin}files/${value}`,
  };
}

function routes(storage: CountingStorage, fixture: Fixture) {
  const router = baseRouter(storage, fixture);
  const valueOf = (ctx: Context) => INJECTION[Number(ctx.params['i'])]!.value;
  router.get('/named/:i', (ctx: Context) => {
    ctx.body = new StorageFile(storage, 'hello.txt', { filename: valueOf(ctx) });
  });
  router.get(
    '/record/:i',
    objectDownload({
      load: (ctx) => ({ file: 'hello.txt', name: valueOf(ctx), type: valueOf(ctx) }),
      storage,
      field: 'file',
      filenameField: 'name',
      contentTypeField: 'type',
    }),
  );
  router.get('/says/:i', (ctx: Context) => {
    ctx.body = new StorageFile(saying(storage, valueOf(ctx), fixture.originUrl), 'hello.txt');
  });
  return router;
}

/** Whether `value` can be a header value as it is (RFC 9110 §5.5), as the library checks it. */
const isFieldValue = (value: string) => !/[^\t\x20-\x7e\x80-\xff]/.test(value);

/** Every header of the answer is whole, and every one a value could reach is well formed. */
function headerProblems(answer: Answer, value: string): string[] {
  const problems = invariantViolations(answer);
  const names = answer.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  for (const injected of INJECTED_HEADERS) {
    if (names.includes(injected)) problems.push(`a ${injected} header appeared`);
  }
  if (names.filter((n) => n === 'content-disposition').length > 1) {
    problems.push('two Content-Disposition headers');
  }
  const disposition = answer.headers['content-disposition'];
  if (disposition !== undefined) {
    try {
      const { filename = '' } = contentDisposition.parse(disposition).parameters;
      // eslint-disable-next-line no-control-regex -- a control character is the failure
      if (/[\u0000-\u001f\u007f-\u009f/\\]/.test(filename)) {
        problems.push(`unsafe filename ${JSON.stringify(filename.slice(0, 80))}`);
      }
    } catch (err) {
      problems.push(`Content-Disposition does not parse: ${String(err)}`);
    }
  }
  const type = answer.headers['content-type'] ?? '';
  if (value.length > 3 && type.includes(value)) problems.push(`Content-Type is the value`);
  if (answer.headers.etag === value) problems.push('ETag is the value');
  return problems;
}

/**
 * The library refuses a name holding a control character (404); lighttpd refuses a C0 control
 * or DEL percent-encoded in a request path itself (400), before the app sees it.
 */
function refusedOnDisk(kind: BackendKind, value: string): number {
  // eslint-disable-next-line no-control-regex -- control characters are the point
  return kind === 'lighttpd' && /[\u0000-\u001f\u007f]/.test(value) ? 400 : 404;
}

/** What a backend answers for a file it serves from `route`: its bytes, or a redirect. */
function expectServed(answer: Answer, kind: BackendKind, redirectTo: string | undefined): void {
  if (kind === 'redirect' && redirectTo !== undefined) {
    expect([answer.status, answer.headers.location]).to.deep.equal([302, redirectTo]);
  } else {
    expect([answer.status, answer.body.toString()]).to.deep.equal([200, HELLO]);
  }
}

describe('security: injection, hostile values in every header the library writes', function () {
  this.timeout(30_000);
  let fixture: Fixture;
  before(async function () {
    fixture = await createFixture();
    await mkdir(join(fixture.filesDir, 'names'), { mode: 0o755 });
    for (const { value } of INJECTION) {
      if (onDisk(value))
        await writeFile(join(fixture.filesDir, 'names', value), HELLO, { mode: 0o644 });
    }
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

      INJECTION.forEach(({ what, value }, i) => {
        it(`security: ${what} as the filename option → ${kind === 'redirect' ? '302' : '200'}, a clean Content-Disposition`, async function () {
          const answer = await send(endpoint(), `/named/${i}`);
          expect(headerProblems(answer, value)).to.deep.equal([]);
          expectServed(answer, kind, '/media/hello.txt');
          if (kind !== 'redirect') expect(answer.headers['content-disposition']).to.be.a('string');
        });

        it(`security: ${what} as a record's name and type → ${kind === 'redirect' ? '302' : '200'}, the type ignored`, async function () {
          const answer = await send(endpoint(), `/record/${i}`);
          expect(headerProblems(answer, value)).to.deep.equal([]);
          expectServed(answer, kind, '/media/hello.txt');
        });

        // The storage's URL is a header only where it is a field value; else it is declined.
        const url = `${'http://127.0.0.1:PORT/'}files/${value}`;
        const redirected = isFieldValue(url) ? 'a 302 to it' : 'streamed (200)';
        it(`security: ${what} as the storage's type, ETag and URL → ${kind === 'redirect' ? redirected : '200'}`, async function () {
          const answer = await send(endpoint(), `/says/${i}`);
          expect(headerProblems(answer, value)).to.deep.equal([]);
          const location = `${fixture.originUrl}files/${value}`;
          expectServed(answer, kind, isFieldValue(location) ? location : undefined);
          if (answer.status === 200) {
            expect(answer.headers['content-type']).to.equal('text/plain; charset=utf-8');
          }
        });

        const disk = onDisk(value);
        if (disk !== undefined) {
          it(`security: ${what} as a name on disk → ${disk === 'served' ? 'served' : refusedOnDisk(kind, value)}`, async function () {
            const encoded = encodeURIComponent(value);
            const answer = await send(endpoint(), `/dl/names/${encoded}`);
            expect(headerProblems(answer, value)).to.deep.equal([]);
            if (disk === 'refused') expect(answer.status).to.equal(refusedOnDisk(kind, value));
            else expectServed(answer, kind, `/media/names/${encoded}`);
          });
        }
      });
    },
    { routes },
  );
});

describe('security: injection, hostile values given by the app at set-up', function () {
  const storage: Storage = {
    driver: 'none',
    stat: async () => ({ size: 0, modified: new Date(0) }),
    open: async () => undefined as never,
  };
  for (const { what, value } of INJECTION) {
    if (/^[\x20-\x7e]*$/.test(value) && !/[;"\\/]/.test(value)) continue;
    it(`security: ${what} as the contentType option throws a TypeError before any header`, function () {
      expect(() => new StorageFile(storage, 'a.txt', { contentType: value })).to.throw(TypeError);
      expect(() => new VirtualFile('x', { name: 'a.txt', contentType: value })).to.throw(TypeError);
    });
  }
  for (const charset of ['utf-8\r\nX-Injected: 1', 'utf 8', 'a;b', '"x"', 'x'.repeat(10) + '\0']) {
    it(`security: nginx charset ${JSON.stringify(charset)} (X-Accel-Charset) throws at set-up`, function () {
      expect(() => nginx({ charset })).to.throw(TypeError);
    });
  }
  it('security: the filename option keeps a DownloadFile constructible with any string', function () {
    for (const { value } of INJECTION) {
      expect(new StorageFile(storage, 'a.txt', { filename: value })).to.be.instanceOf(DownloadFile);
    }
  });
});
