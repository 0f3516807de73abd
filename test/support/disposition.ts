import contentDispositionParser from 'content-disposition';
import type { IncomingHttpHeaders } from 'node:http';

/** Type and file name of a response's Content-Disposition, `filename*` preferred. */
export function contentDisposition(headers: IncomingHttpHeaders): {
  type: string;
  filename?: string;
} {
  const value = headers['content-disposition'];
  if (!value) throw new Error('no Content-Disposition header');
  const parsed = contentDispositionParser.parse(value);
  return { type: parsed.type, filename: parsed.parameters['filename'] };
}
