import { StorageInvalidNameError } from './errors.ts';

/** C0 controls, DEL and C1 controls: never part of a stored file's name. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The one place storage names are canonicalised, before any driver call. A name is a relative,
 * `/`-separated path. Repeated slashes are collapsed; everything that could climb out of a
 * root or mean something else on another system is refused rather than repaired: empty names,
 * control characters (NUL included), backslashes, absolute paths and drive letters, `.` and
 * `..` segments, and strings that are not well-formed Unicode.
 *
 * @example
 * normalizeName('reports//2026.pdf', 'filesystem'); // 'reports/2026.pdf'
 */
export function normalizeName(name: string, driver: string): string {
  const refuse = (reason: string) => new StorageInvalidNameError(driver, String(name), reason);
  if (typeof name !== 'string' || name === '') throw refuse('empty name');
  if (!name.isWellFormed()) throw refuse('not well-formed Unicode');
  if (CONTROL.test(name)) throw refuse('control character');
  if (name.includes('\\')) throw refuse('backslash');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw refuse('absolute path');
  const segments = name.split('/').filter((segment) => segment !== '');
  if (segments.length === 0) throw refuse('empty name');
  if (segments.some((s) => s === '.' || s === '..')) throw refuse('dot segment');
  return segments.join('/');
}

/**
 * A name as a URL path: each segment percent-encoded, the separators kept.
 *
 * @example
 * encodeNameForUrl('a b/é.txt'); // 'a%20b/%C3%A9.txt'
 */
export function encodeNameForUrl(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/**
 * `baseUrl` followed by the encoded name; works for absolute URLs and path-only bases.
 *
 * @example
 * joinUrl('https://cdn.example.com/media', 'a b.txt'); // 'https://cdn.example.com/media/a%20b.txt'
 */
export function joinUrl(baseUrl: string, name: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return base + encodeNameForUrl(name);
}
