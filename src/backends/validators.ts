import { createHash } from 'node:crypto';
import { formatContentDisposition } from '../http/disposition.ts';
import { isStrongEtag, statEtag } from '../http/etag.ts';
import type { DownloadFile, DownloadFileStat } from '../files/download-file.ts';
import { BoundedCache } from '../bounded-cache.ts';
import type { FileFacts } from './stream-plan.ts';

/** How ETags are made for files whose source knows none. */
export type EtagMode = 'stat' | 'content';

/** The validators of one file, as every backend sends them (RFC 9110 §8.8). */
export interface Validators {
  /** The strong ETag sent and matched against If-None-Match and If-Range, if any. */
  readonly etag: string | undefined;
  /** The Last-Modified date, if the source knows when the file changed. */
  readonly lastModified: Date | undefined;
}

/**
 * The one place a file's ETag and Last-Modified are derived, for streaming and for every offload
 * backend alike: a download resumed with If-Range after a rule was added (or after a fallback
 * to streaming) must see the same tag, or it restarts from zero.
 * ETag: the source's own strong tag, else one from size and mtime (the format nginx derives for
 * the same file), else, opted in, a hash of the content.
 *
 * @example
 * const { etag, lastModified } = await fileValidators(file, await file.stat(), 'stat');
 */
export async function fileValidators(
  file: DownloadFile,
  stat: DownloadFileStat,
  mode: EtagMode,
): Promise<Validators> {
  return {
    etag: knownEtag(stat) ?? (await deriveEtag(file, stat, mode)),
    lastModified: stat.modified,
  };
}

/**
 * Everything the streaming decision needs, from the file and its metadata.
 *
 * @example
 * const facts = await gatherFacts(file, await file.stat(), 'stat');
 */
export async function gatherFacts(
  file: DownloadFile,
  stat: DownloadFileStat,
  mode: EtagMode,
): Promise<FileFacts> {
  const { etag, lastModified } = await fileValidators(file, stat, mode);
  return {
    size: stat.size,
    rangeable: file.rangeable,
    etag,
    lastModified,
    contentType: file.contentType(stat),
    contentDisposition: formatContentDisposition(file.filename, file.attachment),
  };
}

/**
 * The `etag` option of `downloadview()` and `streaming()`, checked once at set-up.
 *
 * @example
 * checkEtagMode('downloadview', undefined); // 'stat'
 */
export function checkEtagMode(owner: string, value: unknown): EtagMode {
  if (value === undefined) return 'stat';
  if (value !== 'stat' && value !== 'content') {
    throw new TypeError(`${owner} option "etag" must be 'stat' or 'content', got ${String(value)}`);
  }
  return value;
}

/** The source's own tag when it is a well-formed strong one; anything else is not trusted. */
function knownEtag(stat: DownloadFileStat): string | undefined {
  return stat.etag !== undefined && isStrongEtag(stat.etag) ? stat.etag : undefined;
}

async function deriveEtag(
  file: DownloadFile,
  stat: DownloadFileStat,
  mode: EtagMode,
): Promise<string | undefined> {
  if (stat.size === undefined || !file.rangeable) return undefined;
  if (mode === 'content') return contentEtag(file, stat);
  return stat.modified ? statEtag(stat.size, stat.modified) : undefined;
}

/** Hashing a file reads it all, so hashes are kept for unchanged files; bounded to stay small. */
const contentEtags = new BoundedCache<string, string>(1000);

async function contentEtag(file: DownloadFile, stat: DownloadFileStat): Promise<string> {
  const key = await cacheKey(file, stat);
  const cached = key === undefined ? undefined : contentEtags.get(key);
  if (cached) return cached;
  const hash = createHash('sha256');
  for await (const chunk of await file.open()) hash.update(chunk as Buffer);
  const etag = `"${hash.digest('base64url')}"`;
  if (key !== undefined) contentEtags.set(key, etag);
  return etag;
}

/**
 * Only files with a stable identity (a local path or a URL) and a change time are cached: the
 * record's change time (ctime) where the source knows it, since a rewrite that keeps size and
 * mtime (`touch -d`, `rsync -t`) still moves it; else the modification time.
 */
async function cacheKey(file: DownloadFile, stat: DownloadFileStat): Promise<string | undefined> {
  const identity = (await file.localPath()) ?? (await file.url());
  const changed = stat.changed ?? stat.modified;
  if (identity === undefined || changed === undefined) return undefined;
  return `${identity}\0${stat.size}\0${changed.getTime()}`;
}
