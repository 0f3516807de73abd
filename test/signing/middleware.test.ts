import { expect } from 'chai';
import { SIGNATURE_ERROR_CODES, signatureRequired, signUrl } from '../../src/index.ts';
import { serve, type TestServer } from '../support/koa.ts';
import {
  fetchLink,
  fieldOf,
  OLD_SECRET,
  OTHER_SECRET,
  protectedServer,
  SECRET,
  withField,
} from './support.ts';

/** Koa reports every thrown error, 403s included: none may be a server error. */
function expectNoServerError(errors: readonly Error[]): void {
  expect(errors.map((err) => (err as { status?: number }).status ?? 500)).not.to.include(500);
  expect(errors.every((err) => (err as { expose?: boolean }).expose === true)).to.equal(true);
}

const HOUR_AGO = new Date(Date.now() - 3_600_000);

/** A 403 whose body is `reason`, which names neither the path nor a secret. */
function expectRefused(res: { status: number; body: Buffer }, reason: string): void {
  const body = res.body.toString();
  expect([res.status, body]).to.deep.equal([403, reason]);
  expect(body).not.to.match(/media|secret|\//i);
}

describe('signatureRequired: through HTTP', () => {
  let server: TestServer;
  before(async () => (server = await protectedServer()));
  after(() => server.close());

  const sign = (path: string, options: Partial<Parameters<typeof signUrl>[1]> = {}) =>
    signUrl(path, { secret: SECRET, expiresIn: 60, ...options });

  it('serves a link signed with the secret', async () => {
    const res = await fetchLink(server, sign('/media/a.txt'));
    expect([res.status, res.body.toString()]).to.deep.equal([200, 'ok a.txt']);
    expectNoServerError(server.errors);
  });

  it('keeps the link valid under query parameters it does not bind', async () => {
    const res = await fetchLink(server, `${sign('/media/a.txt')}&utm=x`);
    expect(res.status).to.equal(200);
  });

  it('answers 403 "Signature required" without a sig parameter', async () => {
    expectRefused(await fetchLink(server, '/media/a.txt'), 'Signature required');
    expectRefused(await fetchLink(server, '/media/a.txt?sag=1'), 'Signature required');
  });

  for (const [label, mangle] of [
    ['an empty sig', () => '/media/a.txt?sig='],
    ['a garbage sig', () => '/media/a.txt?sig=abc'],
    ['two sig parameters', (link: string) => `${link}&sig=x`],
    ['a truncated mac', (link: string) => link.slice(0, -1)],
    ['a mac one character too long', (link: string) => `${link}A`],
    ['a non-numeric expiry', (link: string) => withField(link, 2, '12x')],
    ['a lower-case method', (link: string) => withField(link, 4, 'get')],
    ['a bound name with a space', (link: string) => withField(link, 5, 'a%20b')],
    ['a malformed escape in the query', (link: string) => `${link}&x=%zz`],
    ['no version', (link: string) => link.replace('sig=v1.', 'sig=')],
    // Koa 2's ctx.query would drop pairs past the 1000th, hiding a bound value from the app.
    ['more than 1000 query pairs', (link: string) => link.replace('?', `?${'x=1&'.repeat(1000)}`)],
  ] as const) {
    it(`answers 403 "Malformed signed link" for ${label}`, async () => {
      const res = await fetchLink(server, mangle(sign('/media/a.txt')));
      expectRefused(res, 'Malformed signed link');
      expectNoServerError(server.errors);
    });
  }

  describe('tampered links', () => {
    it('refuses a signature replayed on another path', async () => {
      const link = sign('/media/a.txt').replace('/media/a.txt', '/media/b.txt');
      expectRefused(await fetchLink(server, link), 'Invalid signature');
    });

    it('refuses a signature replayed on a longer or shorter path', async () => {
      const link = sign('/media/dir/a.txt');
      expectRefused(await fetchLink(server, link.replace('/dir/', '/')), 'Invalid signature');
      const longer = link.replace('a.txt', 'a.txt/x');
      expectRefused(await fetchLink(server, longer), 'Invalid signature');
    });

    it('refuses a later expiry', async () => {
      const link = sign('/media/a.txt');
      const later = String(Number(fieldOf(link, 2)) + 3600);
      expectRefused(await fetchLink(server, withField(link, 2, later)), 'Invalid signature');
    });

    it('refuses an added or removed not-before', async () => {
      const link = sign('/media/a.txt');
      expectRefused(await fetchLink(server, withField(link, 3, '1')), 'Invalid signature');
      const dated = sign('/media/a.txt', { notBefore: HOUR_AGO });
      expectRefused(await fetchLink(server, withField(dated, 3, '')), 'Invalid signature');
    });

    it('refuses a mac with one character changed', async () => {
      const link = sign('/media/a.txt');
      const mac = fieldOf(link, 6);
      const changed = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
      expectRefused(await fetchLink(server, withField(link, 6, changed)), 'Invalid signature');
    });

    it('refuses a key id that names no listed secret', async () => {
      const link = withField(sign('/media/a.txt'), 1, 'AAAAAAAA');
      expectRefused(await fetchLink(server, link), 'Unknown signing key');
    });

    it('refuses a key id switched to another listed secret', async () => {
      const both = await protectedServer({ secrets: [SECRET, OLD_SECRET] });
      try {
        const oldId = fieldOf(signUrl('/x', { secret: OLD_SECRET, expiresIn: 60 }), 1);
        const link = withField(sign('/media/a.txt'), 1, oldId);
        expectRefused(await fetchLink(both, link), 'Invalid signature');
      } finally {
        await both.close();
      }
    });

    it('refuses another version, named as such', async () => {
      for (const version of ['v2', 'v0', 'v10']) {
        const link = withField(sign('/media/a.txt'), 0, version);
        expectRefused(await fetchLink(server, link), 'Unsupported signature version');
      }
    });

    it('refuses a bound query parameter changed, repeated, added or removed', async () => {
      const link = sign('/media/a.txt?user=7', { bind: { query: ['user', 'role'] } });
      expect((await fetchLink(server, link)).status).to.equal(200);
      for (const tampered of [
        link.replace('user=7', 'user=8'),
        link.replace('user=7', 'user=7&user=8'),
        link.replace('user=7', 'user=7&role=admin'),
        link.replace('user=7&', ''),
      ]) {
        expectRefused(await fetchLink(server, tampered), 'Invalid signature');
      }
    });

    it('refuses a bound name dropped from the token', async () => {
      const link = sign('/media/a.txt?user=7', { bind: { query: ['user'] } });
      const unbound = withField(link, 5, '');
      expectRefused(
        await fetchLink(server, unbound.replace('user=7', 'user=8')),
        'Invalid signature',
      );
    });

    it('reads a bound value as the app does: %20 and + are one space', async () => {
      const link = sign('/media/a.txt?q=a+b', { bind: { query: ['q'] } });
      expect((await fetchLink(server, link.replace('q=a+b', 'q=a%20b'))).status).to.equal(200);
    });

    it('serves only the bound method (and HEAD for GET)', async () => {
      const link = sign('/media/a.txt', { bind: { method: 'GET' } });
      expect((await fetchLink(server, link)).status).to.equal(200);
      expect((await fetchLink(server, link, { method: 'HEAD' })).status).to.equal(200);
      const res = await fetchLink(server, link, { method: 'POST' });
      expectRefused(res, 'Method not covered by the signature');
    });

    it('refuses a method field changed or removed', async () => {
      const link = sign('/media/a.txt', { bind: { method: 'GET' } });
      const post = withField(link, 4, 'POST');
      expectRefused(await fetchLink(server, post, { method: 'POST' }), 'Invalid signature');
      const any = withField(link, 4, '');
      expectRefused(await fetchLink(server, any, { method: 'DELETE' }), 'Invalid signature');
    });
  });

  describe('time', () => {
    it('refuses an expired link', async () => {
      const link = sign('/media/a.txt', { now: HOUR_AGO, expiresIn: 60 });
      expectRefused(await fetchLink(server, link), 'Link expired');
    });

    it('refuses a link before its not-before, and serves it from then on', async () => {
      const later = new Date(Date.now() + 600_000);
      const early = sign('/media/a.txt', { notBefore: later, expiresIn: 3600 });
      expectRefused(await fetchLink(server, early), 'Link not yet valid');
      const now = sign('/media/a.txt', { notBefore: HOUR_AGO, expiresIn: 7200, now: HOUR_AGO });
      expect((await fetchLink(server, now)).status).to.equal(200);
    });

    it('tolerates clockSkew seconds on both ends, no more', async () => {
      const skewed = await protectedServer({ secrets: [SECRET], clockSkew: 120 });
      try {
        const justExpired = sign('/media/a.txt', { now: new Date(Date.now() - 90_000) });
        expect((await fetchLink(skewed, justExpired)).status).to.equal(200);
        const soon = sign('/media/a.txt', {
          notBefore: new Date(Date.now() + 60_000),
          expiresIn: 600,
        });
        expect((await fetchLink(skewed, soon)).status).to.equal(200);
        const expired = sign('/media/a.txt', { now: new Date(Date.now() - 200_000) });
        expectRefused(await fetchLink(skewed, expired), 'Link expired');
      } finally {
        await skewed.close();
      }
    });
  });

  describe('secrets and rotation', () => {
    it('refuses a link signed with another secret', async () => {
      const link = signUrl('/media/a.txt', { secret: OTHER_SECRET, expiresIn: 60 });
      expectRefused(await fetchLink(server, link), 'Unknown signing key');
    });

    it('serves an old link while its secret is listed, refuses it once removed', async () => {
      const old = signUrl('/media/a.txt', { secret: OLD_SECRET, expiresIn: 60 });
      const fresh = sign('/media/a.txt');
      const during = await protectedServer({ secrets: [SECRET, OLD_SECRET] });
      const after = await protectedServer({ secrets: [SECRET] });
      try {
        expect((await fetchLink(during, old)).status).to.equal(200);
        expect((await fetchLink(during, fresh)).status).to.equal(200);
        expectRefused(await fetchLink(after, old), 'Unknown signing key');
        expect((await fetchLink(after, fresh)).status).to.equal(200);
      } finally {
        await Promise.all([during.close(), after.close()]);
      }
    });

    it('is stateless: another instance holding the secret verifies the link', async () => {
      const other = await protectedServer({ secrets: [Buffer.from(SECRET)] });
      try {
        expect((await fetchLink(other, sign('/media/a.txt'))).status).to.equal(200);
      } finally {
        await other.close();
      }
    });
  });

  it('carries a stable code on the error, and never reports it as a server error', async () => {
    const codes: unknown[] = [];
    const app = await serve(
      async (ctx, next) => {
        try {
          await next();
        } catch (err) {
          codes.push((err as { code?: unknown; expose?: unknown }).code);
          throw err;
        }
      },
      signatureRequired({ secrets: [SECRET] }),
    );
    try {
      await fetchLink(app, '/media/a.txt');
      await fetchLink(app, sign('/media/a.txt', { now: HOUR_AGO }));
      expect(codes).to.deep.equal([SIGNATURE_ERROR_CODES.missing, SIGNATURE_ERROR_CODES.expired]);
      expectNoServerError(app.errors);
    } finally {
      await app.close();
    }
  });
});
