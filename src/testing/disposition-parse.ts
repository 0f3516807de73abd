import contentDisposition from 'content-disposition';

/**
 * Type and file name of a Content-Disposition value, `filename*` preferred; `undefined`
 * filename when the value carries none or cannot be parsed. The assertions read downloads with
 * it; the library itself only ever formats the header.
 *
 * @example
 * parseFilename("attachment; filename*=UTF-8''%C3%A9.txt"); // { type: 'attachment', filename: 'é.txt' }
 */
export function parseFilename(headerValue: string): { type: string; filename?: string } {
  try {
    const parsed = contentDisposition.parse(headerValue);
    return { type: parsed.type, filename: parsed.parameters['filename'] };
  } catch {
    return { type: headerValue.split(';')[0]?.trim().toLowerCase() ?? '' };
  }
}
