import { checkOffloaded, type PresentationExpectations } from './assertions.ts';
import { MismatchList } from './mismatches.ts';
import { viewResponse, type ResponseView } from './responses.ts';

/** Expectations of `assertXAccelRedirect()`. */
export interface XAccelRedirectExpectations extends PresentationExpectations {
  /** The X-Accel-Redirect value exactly as sent (percent-encoded). */
  redirectUrl?: string;
  /** X-Accel-Buffering: `true` for `yes`, `false` for `no`. */
  buffering?: boolean;
  /** X-Accel-Charset, as sent. */
  charset?: string;
  /** X-Accel-Expires: seconds nginx may cache the answer, or `'off'`. */
  expires?: number | 'off';
  /** X-Accel-Limit-Rate: bytes per second for this download, or `'off'`. */
  limitRate?: number | 'off';
}

/** Expectations of `assertXSendfile()`. */
export interface XSendfileExpectations extends PresentationExpectations {
  /** The decoded filesystem path the proxy will open. */
  filePath?: string;
  /** How the header is encoded: `'apache'` raw UTF-8 (default), `'lighttpd'` percent-encoded. */
  server?: 'apache' | 'lighttpd';
}

/** Expectations of `assertCaddyRedirect()`. */
export interface CaddyRedirectExpectations extends PresentationExpectations {
  /** The decoded path Caddy will serve (Caddy reads the header as raw UTF-8). */
  redirectUrl?: string;
}

/**
 * Asserts an nginx offload: `X-Accel-Redirect` and the optional `X-Accel-*` headers.
 *
 * @example
 * await assertXAccelRedirect(res, { redirectUrl: '/protected/a.txt', basename: 'a.txt', expires: 'off' });
 */
export async function assertXAccelRedirect(
  res: unknown,
  expected: XAccelRedirectExpectations,
): Promise<void> {
  const view = viewResponse(res);
  const problems = new MismatchList();
  requireHeader(problems, view, 'X-Accel-Redirect');
  problems.check('redirectUrl', expected.redirectUrl, view.header('X-Accel-Redirect'));
  const buffering =
    expected.buffering === undefined ? undefined : expected.buffering ? 'yes' : 'no';
  problems.check('buffering', buffering, view.header('X-Accel-Buffering'));
  problems.check('charset', expected.charset, view.header('X-Accel-Charset'));
  problems.check('expires', asHeader(expected.expires), view.header('X-Accel-Expires'));
  problems.check('limitRate', asHeader(expected.limitRate), view.header('X-Accel-Limit-Rate'));
  await checkOffloaded(view, problems, expected);
  problems.throwIfAny('X-Accel-Redirect response');
}

/**
 * Asserts an Apache (mod_xsendfile) or lighttpd offload: `X-Sendfile` with the file's path.
 *
 * @example
 * await assertXSendfile(res, { filePath: '/srv/media/résumé.pdf', basename: 'résumé.pdf' });
 */
export async function assertXSendfile(
  res: unknown,
  expected: XSendfileExpectations,
): Promise<void> {
  const view = viewResponse(res);
  const problems = new MismatchList();
  const raw = requireHeader(problems, view, 'X-Sendfile');
  const decode = expected.server === 'lighttpd' ? decodePercent : decodeRawUtf8;
  problems.check('filePath', expected.filePath, raw === undefined ? undefined : decode(raw));
  await checkOffloaded(view, problems, expected);
  problems.throwIfAny('X-Sendfile response');
}

/**
 * Asserts a Caddy offload: the `X-Accel-Redirect` header the documented Caddyfile reads.
 *
 * @example
 * await assertCaddyRedirect(res, { redirectUrl: '/protected/résumé.pdf' });
 */
export async function assertCaddyRedirect(
  res: unknown,
  expected: CaddyRedirectExpectations,
): Promise<void> {
  const view = viewResponse(res);
  const problems = new MismatchList();
  const raw = requireHeader(problems, view, 'X-Accel-Redirect');
  problems.check(
    'redirectUrl',
    expected.redirectUrl,
    raw === undefined ? undefined : decodeRawUtf8(raw),
  );
  await checkOffloaded(view, problems, expected);
  problems.throwIfAny('Caddy offload response');
}

function requireHeader(problems: MismatchList, view: ResponseView, name: string) {
  const value = view.header(name);
  if (value === undefined) problems.add(name, 'present', 'absent (was the file streamed?)');
  return value;
}

function asHeader(value: number | 'off' | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

function decodeRawUtf8(value: string): string {
  return Buffer.from(value, 'latin1').toString('utf8');
}

function decodePercent(value: string): string {
  try {
    return value.split('/').map(decodeURIComponent).join('/');
  } catch {
    return value;
  }
}
