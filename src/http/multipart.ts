import { randomBytes } from 'node:crypto';
import type { ByteRange } from '../storage.ts';
import { contentRange } from './range.ts';

/** The framing of a multipart/byteranges body, computed before any byte is read. */
export interface MultipartPlan {
  readonly contentType: string;
  readonly contentLength: number;
  readonly parts: readonly { readonly head: Buffer; readonly range: ByteRange }[];
  readonly tail: Buffer;
}

/**
 * Frames several ranges as multipart/byteranges (RFC 9110 §14.6, RFC 2046 §5.1.1). Each part
 * is `CRLF? --boundary CRLF headers CRLF CRLF bytes`, the body ends `CRLF --boundary-- CRLF`,
 * so the exact Content-Length is known up front.
 *
 * @example
 * planMultipart([{ start: 0, end: 1 }, { start: 5, end: 6 }], 37, 'text/plain');
 */
export function planMultipart(
  ranges: readonly ByteRange[],
  size: number,
  contentType: string,
  boundary: string = randomBytes(12).toString('hex'),
): MultipartPlan {
  const parts = ranges.map((range, index) => {
    const lead = index === 0 ? '' : '\r\n';
    const head = `${lead}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: ${contentRange(range, size)}\r\n\r\n`;
    return { head: Buffer.from(head, 'latin1'), range };
  });
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const framing = parts.reduce((sum, part) => sum + part.head.length, tail.length);
  const payload = ranges.reduce((sum, r) => sum + r.end - r.start + 1, 0);
  return {
    contentType: `multipart/byteranges; boundary=${boundary}`,
    contentLength: framing + payload,
    parts,
    tail,
  };
}
