import { createHash } from 'node:crypto';
import { formatContentDisposition } from '../http/disposition.ts';
import { isStrongEtag, statEtag } from '../http/etag.ts';
import type { DownloadFile, DownloadFileStat } from '../files/download-file.ts';
import type { FileFacts } from './stream-plan.ts';

/** How ETags are made for files whose source knows none. */
export type EtagMode = 'stat' | 'content';

/** Hashing a file reads it all, so hashes are kept for unchanged files; bounded to stay small. */
const CONTENT_ETAG_CACHE_SIZE = 1000;
const contentEtags = new Map<string, string>();

/**
 * Everything the streaming decision needs, from the file and its metadata.
 * ETag: the source's own strong tag, else one from size and mtime (as nginx and Apache make,
 * so browsers can resume with If-Range), else, opted in, a hash of the content.
 *
 * @example
 * const facts = await gatherFacts(file, await file.stat(), 'stat');
 */
export async function gatherFacts(
  file: DownloadFile,
  stat: DownloadFileStat,
  mode: EtagMode,
): Promise<FileFacts> {
  return {
    size: stat.size,
    rangeable: file.rangeable,
    etag: knownEtag(stat) ?? (await deriveEtag(file, stat, mode)),
    lastModified: stat.modified,
    contentType: file.contentType(stat),
    contentDisposition: formatContentDisposition(file.filename, file.attachment),
  };
}

/** The source's own tag when it is a well-formed strong one; anything else is not trusted. */
export function knownEtag(stat: DownloadFileStat): string | undefined {
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

async function contentEtag(file: DownloadFile, stat: DownloadFileStat): Promise<string> {
  const key = await cacheKey(file, stat);
  const cached = key === undefined ? undefined : contentEtags.get(key);
  if (cached) return cached;
  const hash = createHash('sha256');
  for await (const chunk of await file.open()) hash.update(chunk as Buffer);
  const etag = `"${hash.digest('base64url')}"`;
  if (key !== undefined) remember(key, etag);
  return etag;
}

/** Only files with a stable identity (a local path or a URL) and a modification time are cached. */
async function cacheKey(file: DownloadFile, stat: DownloadFileStat): Promise<string | undefined> {
  const identity = (await file.localPath()) ?? (await file.url());
  if (identity === undefined || stat.modified === undefined) return undefined;
  return `${identity}\0${stat.size}\0${stat.modified.getTime()}`;
}

function remember(key: string, etag: string): void {
  if (contentEtags.size >= CONTENT_ETAG_CACHE_SIZE) {
    const oldest = contentEtags.keys().next().value;
    if (oldest !== undefined) contentEtags.delete(oldest);
  }
  contentEtags.set(key, etag);
}
