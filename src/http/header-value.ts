import contentType from 'content-type';

/**
 * RFC 9110 §5.5: a field value is visible ASCII, obs-text (0x80–0xFF), spaces and tabs. Node
 * refuses anything else with ERR_INVALID_CHAR once the response is being written, which would
 * surface as a 500; values are checked against this before they are ever set.
 */
const NOT_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** C0 controls, DEL and C1 controls, as Unicode code points: never part of a path we hand on. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Whether `value` may be written as a header value as it is.
 *
 * @example
 * isFieldValue('attachment; filename="a.txt"'); // true
 * isFieldValue('a\r\nSet-Cookie: x=1'); // false
 */
export function isFieldValue(value: string): boolean {
  return !NOT_FIELD_VALUE.test(value);
}

/**
 * Whether `value` names a file without any control character, so that every encoding of it
 * (raw UTF-8 bytes or percent-encoding) names the same file for the server that reads it.
 *
 * @example
 * isPlainText('/srv/media/a b.txt'); // true
 */
export function isPlainText(value: string): boolean {
  return !CONTROL.test(value);
}

/**
 * Whether `value` is a media type (RFC 9110 §8.3.1: `type/subtype` and parameters) that can be
 * sent as Content-Type. A file name such as `Invoice 2024/001.pdf` is not one.
 *
 * @example
 * isMediaType('text/csv; charset=utf-8'); // true
 * isMediaType('Invoice 2024/001.pdf'); // false
 */
export function isMediaType(value: string): boolean {
  if (!isFieldValue(value)) return false;
  try {
    contentType.parse(value);
    return true;
  } catch {
    return false;
  }
}
