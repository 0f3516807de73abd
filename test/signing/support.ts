import Router from '@koa/router';
import { signatureRequired, type SignatureRequiredOptions } from '../../src/index.ts';
import { request as httpRequest } from 'node:http';
import { request, type RawResponse } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';

/** Two secrets of 32 bytes and more, as a deployment holds them. */
export const SECRET = 'current-secret-0123456789abcdefghijklmnop';
export const OLD_SECRET = 'previous-secret-0123456789abcdefghijklmno';
export const OTHER_SECRET = Buffer.alloc(32, 7);

/**
 * A server whose `/media/*path` route answers `ok <decoded path>` behind
 * `signatureRequired(options)`, for any method.
 */
export async function protectedServer(
  options: SignatureRequiredOptions = { secrets: [SECRET] },
): Promise<TestServer> {
  const router = new Router();
  router.all('/media/*path', signatureRequired(options), (ctx) => {
    ctx.body = `ok ${ctx.params.path ?? ''}`;
  });
  return serve(router.routes());
}

/** `link` (a path with its query) requested from `server`. */
export function fetchLink(
  server: TestServer,
  link: string,
  options: { method?: string } = {},
): Promise<RawResponse> {
  return request(server.url + link, options);
}

/**
 * `path` (with its query) sent exactly as written: a URL string would go through the WHATWG
 * parser first, which resolves `..` and `%2e%2e` before they reach the server.
 */
export function fetchRawPath(server: TestServer, path: string): Promise<RawResponse> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'GET' });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          aborted: false,
        }),
      );
    });
    req.end();
  });
}

/** `link` with field `index` of its `sig` token (0: version … 6: mac) replaced by `value`. */
export function withField(link: string, index: number, value: string): string {
  return link.replace(/sig=([^&#]*)/, (_, token: string) => {
    const fields = token.split('.');
    fields[index] = value;
    return `sig=${fields.join('.')}`;
  });
}

/** Field `index` of the `sig` token of `link`. */
export function fieldOf(link: string, index: number): string {
  return /sig=([^&#]*)/.exec(link)![1]!.split('.')[index]!;
}
