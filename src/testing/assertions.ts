import { parseFilename } from './disposition-parse.ts';
import { MismatchList } from './mismatches.ts';
import { viewResponse, type ResponseView } from './responses.ts';

/** What every download shows the user, streamed or offloaded. */
export interface PresentationExpectations {
  /** The file name from Content-Disposition (`filename*` decoded and preferred). */
  basename?: string;
  /** The Content-Type; without parameters it is compared to the media type only. */
  contentType?: string;
  /** `true`: Content-Disposition `attachment`; `false`: `inline`. */
  attachment?: boolean;
}

/** Expectations of `assertDownload()`. */
export interface DownloadExpectations extends PresentationExpectations {
  /** Default 200. */
  status?: number;
  /** The body's byte count (Content-Length must agree when present). */
  size?: number;
  /** The body: a string (UTF-8), bytes, or a predicate over the bytes. */
  content?: string | Uint8Array | ((body: Buffer) => boolean);
}

const OFFLOAD_HEADERS = ['X-Accel-Redirect', 'X-Sendfile'];

/**
 * Asserts a download streamed by the app. Works on supertest/superagent and fetch responses;
 * on failure, one AssertionError lists every mismatching field, expected beside actual.
 *
 * @example
 * await assertDownload(await request(app.callback()).get('/files/a.txt'), { basename: 'a.txt', content: 'hello' });
 */
export async function assertDownload(res: unknown, expected: DownloadExpectations): Promise<void> {
  const view = viewResponse(res);
  const problems = new MismatchList();
  problems.check('status', expected.status ?? 200, view.status);
  for (const name of OFFLOAD_HEADERS) problems.check(name, null, view.header(name) ?? null);
  checkPresentation(problems, view, expected);
  const body = await view.body();
  problems.check('size', expected.size, body.length);
  const length = view.header('Content-Length');
  if (length !== undefined && Number(length) !== body.length) {
    problems.add('Content-Length', body.length, Number(length));
  }
  checkContent(problems, expected.content, body);
  problems.throwIfAny('download response');
}

/**
 * The checks shared by every assertion: the offload header's value, the presentation fields,
 * status 200 (proxies act on 200 only) and an empty body.
 */
export async function checkOffloaded(
  view: ResponseView,
  problems: MismatchList,
  expected: PresentationExpectations,
): Promise<void> {
  problems.check('status', 200, view.status);
  checkPresentation(problems, view, expected);
  const body = await view.body();
  problems.check('body size', 0, body.length);
}

function checkPresentation(
  problems: MismatchList,
  view: ResponseView,
  expected: PresentationExpectations,
): void {
  const disposition = view.header('Content-Disposition');
  const parsed = disposition === undefined ? undefined : parseFilename(disposition);
  problems.check('basename', expected.basename, parsed?.filename);
  const type = parsed?.type;
  const attachment = type === undefined ? undefined : type === 'attachment';
  problems.check('attachment', expected.attachment, attachment);
  if (expected.contentType !== undefined) {
    const actual = view.header('Content-Type');
    const compared = expected.contentType.includes(';') ? actual : actual?.split(';')[0]?.trim();
    problems.check('contentType', expected.contentType, compared);
  }
}

function checkContent(
  problems: MismatchList,
  content: DownloadExpectations['content'],
  body: Buffer,
): void {
  if (content === undefined) return;
  if (typeof content === 'function') {
    if (!content(body)) problems.add('content', 'a body accepted by the predicate', body);
    return;
  }
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  problems.check('content', bytes, body);
}
