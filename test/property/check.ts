/**
 * Compares one real answer with the model's: status, the checked headers, and the bytes in
 * order (a multipart/byteranges body is parsed strictly, part by part).
 */
import type { WireResponse } from './client.ts';
import {
  CHECKED_HEADERS,
  type Expected,
  type HeaderExpectation,
  type ModelRange,
} from './model.ts';

/** Every way `response` differs from `expected`; empty when they agree. */
export function disagreements(
  expected: Expected,
  response: WireResponse,
  bytes: Buffer,
  method: string,
): string[] {
  const found: string[] = [];
  if (response.status >= 500) found.push(`server error ${response.status}`);
  if (response.aborted) found.push('connection cut before the announced body was complete');
  if (response.status !== expected.status) {
    found.push(`status ${response.status}, model ${expected.status}`);
    return found;
  }
  for (const name of CHECKED_HEADERS) {
    const problem = headerProblem(name, expected.headers[name], response.headers[name]);
    if (problem) found.push(problem);
  }
  // §9.3.2: a HEAD answer has no content, whatever its Content-Length says.
  if (method === 'HEAD') {
    if (response.body.length > 0) found.push(`${response.body.length} bytes in a HEAD answer`);
    return found;
  }
  const length = response.headers['content-length'];
  if (length !== undefined && Number(length) !== response.body.length) {
    found.push(`Content-Length ${length} but ${response.body.length} bytes`);
  }
  found.push(...bodyProblems(expected, response, bytes));
  return found;
}

function headerProblem(
  name: string,
  expectation: HeaderExpectation,
  actual: string | string[] | undefined,
): string | undefined {
  if (expectation === undefined) return undefined;
  const value = actual === undefined ? null : String(actual);
  const allowed = Array.isArray(expectation) ? expectation : [expectation];
  if (allowed.includes(value)) return undefined;
  return `${name}: ${JSON.stringify(value)}, model ${allowed.map((v) => JSON.stringify(v)).join(' or ')}`;
}

function bodyProblems(expected: Expected, response: WireResponse, bytes: Buffer): string[] {
  const body = expected.body;
  const same = (want: Buffer, what: string) =>
    response.body.equals(want)
      ? []
      : [`${what}: ${response.body.length} bytes differ from the ${want.length} expected`];
  switch (body.kind) {
    case 'unchecked':
      return [];
    case 'empty':
      return response.body.length === 0 ? [] : [`${response.body.length} bytes where none belong`];
    case 'whole':
      return same(bytes, 'whole file');
    case 'single':
      return same(slice(bytes, body.range), `range ${body.range.start}-${body.range.end}`);
    case 'multipart':
      return multipartProblems(response, bytes, body.ranges);
  }
}

function slice(bytes: Buffer, range: ModelRange): Buffer {
  return bytes.subarray(range.start, range.end + 1);
}

/**
 * RFC 9110 §14.6 and RFC 2046 §5.1.1: `--boundary CRLF headers CRLF CRLF bytes`, parts separated
 * by `CRLF --boundary`, closed by `CRLF --boundary--`. Each part's Content-Range and bytes must
 * be the model's, in the model's order.
 */
function multipartProblems(
  response: WireResponse,
  bytes: Buffer,
  ranges: readonly ModelRange[],
): string[] {
  const type = String(response.headers['content-type'] ?? '');
  const boundary = /^multipart\/byteranges; *boundary=("?)([^";]+)\1$/i.exec(type)?.[2];
  if (!boundary) return [`Content-Type ${JSON.stringify(type)} is not multipart/byteranges`];
  const body = response.body.toString('latin1');
  const open = `--${boundary}\r\n`;
  const close = `\r\n--${boundary}--`;
  if (!body.startsWith(open) || !body.trimEnd().endsWith(close))
    return ['multipart framing broken'];
  const inner = body.slice(open.length, body.trimEnd().length - close.length);
  const parts = inner.split(`\r\n--${boundary}\r\n`);
  const actual = parts.map((part) => parsePart(part));
  const problems: string[] = [];
  const describe = (list: readonly (ModelRange | undefined)[]) =>
    list.map((r) => (r ? `${r.start}-${r.end}` : '?')).join(',');
  const got = actual.map((part) => part.range);
  if (describe(got) !== describe(ranges))
    problems.push(`parts ${describe(got)}, model ${describe(ranges)}`);
  actual.forEach((part, i) => {
    const range = ranges[i];
    if (!range || !part.range) return;
    if (part.size !== bytes.length) problems.push(`part ${i}: complete length ${part.size}`);
    if (!Buffer.from(part.bytes, 'latin1').equals(slice(bytes, range)))
      problems.push(`part ${i}: bytes differ`);
  });
  return problems;
}

function parsePart(part: string): { range?: ModelRange; size?: number; bytes: string } {
  const end = part.indexOf('\r\n\r\n');
  const head = end < 0 ? '' : part.slice(0, end);
  const match = /^content-range: *bytes (\d+)-(\d+)\/(\d+)$/im.exec(head);
  const bytes = end < 0 ? '' : part.slice(end + 4);
  if (!match) return { bytes };
  return {
    range: { start: Number(match[1]), end: Number(match[2]) },
    size: Number(match[3]),
    bytes,
  };
}
