import { sep } from 'node:path';

/** Where a rule sends a file: its destination and the file's name below it. */
export interface OffloadTarget {
  /** The rule's `destinationUrl` or `destinationDir`, ending with `/`. */
  readonly destination: string;
  /** The file's remaining path below the destination, decoded, `/`-separated, never `..`. */
  readonly rest: string;
  /** The file's full URL, when the rule matched on it (remote offload needs it). */
  readonly url: string | undefined;
}

/**
 * The target for a file URL under `prefix` (ending with `/`): the remainder is decoded segment
 * by segment, and refused if any segment is unsafe or its percent-encoding malformed.
 *
 * @example
 * targetFromUrl('/media/a%20b.txt', '/media/', '/protected/'); // rest: 'a b.txt'
 */
export function targetFromUrl(
  url: string | undefined,
  prefix: string,
  destination: string,
): OffloadTarget | undefined {
  if (url === undefined || !url.startsWith(prefix)) return undefined;
  const rest = url.slice(prefix.length).split(/[?#]/, 1)[0] ?? '';
  try {
    return safeTarget(rest.split('/').map(decodeURIComponent), destination, url);
  } catch {
    return undefined; // malformed percent-encoding: not ours to offload
  }
}

/**
 * The target for a local path under `dir` (ending with `/`), or `undefined` when it lies
 * elsewhere.
 *
 * @example
 * targetFromPath('/srv/media/a b.txt', '/srv/media/', '/protected/'); // rest: 'a b.txt'
 */
export function targetFromPath(
  path: string | undefined,
  dir: string,
  destination: string,
): OffloadTarget | undefined {
  if (path === undefined || !path.startsWith(dir)) return undefined;
  return safeTarget(path.slice(dir.length).split(sep), destination, undefined);
}

/** Matching is by whole segments: an empty, `.` or `..` segment, or a separator inside one, never matches. */
function safeTarget(
  segments: string[],
  destination: string,
  url: string | undefined,
): OffloadTarget | undefined {
  const unsafe = segments.some((s) => s === '' || s === '.' || s === '..' || /[/\\\0]/.test(s));
  if (unsafe) return undefined;
  return { destination, rest: segments.join('/'), url };
}

/**
 * A directory or URL prefix ending with `/`, so prefixes match whole segments only.
 *
 * @example
 * withSlash('/srv/media'); // '/srv/media/'
 */
export function withSlash(value: string): string {
  return value.endsWith('/') ? value : `${value}/`;
}
