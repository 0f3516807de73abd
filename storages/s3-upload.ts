import { AbortMultipartUploadCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Upload } from '@aws-sdk/lib-storage';
import contentTypeHeader from 'content-type';
import mime from 'mime-types';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { StorageUnavailableError, StorageUnsupportedError } from '../src/errors.ts';
import { contentStream } from '../src/storage-content.ts';
import type { StorageContent } from '../src/storage.ts';

const DRIVER = 's3';
const FALLBACK_TYPE = 'application/octet-stream';

/** The smallest part S3 accepts, but for the last (Amazon S3 User Guide, "Multipart upload limits"). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** The largest part S3 accepts. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** The AWS CLI's default part: 10,000 parts of it hold objects up to 78 GiB. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded at once: with the part being filled, a save holds about (queue + 2) parts. */
export const DEFAULT_QUEUE_SIZE = 4;
export const MAX_QUEUE_SIZE = 64;

/** Where and how one object is written. */
export interface UploadTarget {
  readonly client: S3Client;
  readonly Bucket: string;
  readonly Key: string;
  readonly ContentType: string;
  readonly partSize: number;
  readonly queueSize: number;
}

/**
 * The type stored with an object, guessed from its name as a download of it would guess: the
 * extension alone is looked up (a name holding `/` is not a media type), text types get
 * `charset=utf-8`, and an unknown extension is `application/octet-stream`. Stored, it is what
 * S3 answers with, so it must be right: a stored type beats any guess made when serving.
 *
 * @example
 * typeFromName('docs/hello.txt'); // 'text/plain; charset=utf-8'
 */
export function typeFromName(key: string): string {
  const extension = posix.extname(key.slice(key.lastIndexOf('/') + 1));
  const type = extension === '' ? false : mime.lookup(extension);
  return (type && mime.contentType(type)) || FALLBACK_TYPE;
}

/**
 * Whether `value` can be stored as an object's Content-Type: a media type (RFC 9110 §8.3.1)
 * in visible ASCII, since S3 sends it back as a header as it is.
 */
export function isStorableType(value: unknown): value is string {
  if (typeof value !== 'string' || !/^[\x20-\x7e]+$/.test(value)) return false;
  try {
    contentTypeHeader.parse(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `content` to one object without holding it whole: bytes of at most one part go up in
 * one PutObject; streams, iterables and larger bytes go through `@aws-sdk/lib-storage`'s
 * multipart Upload, which holds about `queueSize` parts at once (a stream shorter than one part
 * still ends as a single PutObject). A failed multipart upload is aborted, so its parts are
 * neither billed nor left to complete into an object.
 */
export async function uploadContent(target: UploadTarget, content: StorageContent): Promise<void> {
  const { client, Bucket, Key, ContentType } = target;
  const bytes = contentBytesIfKnown(content);
  if (bytes && bytes.byteLength <= target.partSize) {
    await client.send(new PutObjectCommand({ Bucket, Key, ContentType, Body: bytes }));
    return;
  }
  const Body = bytes ?? contentStream(content);
  try {
    await multipartUpload(target, await loadUpload(), Body);
  } catch (err) {
    if (Body instanceof Readable) Body.destroy();
    throw err;
  }
}

/** Strings and byte arrays, whose length is known without reading anything. */
function contentBytesIfKnown(content: StorageContent): Uint8Array | undefined {
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  return content instanceof Uint8Array ? content : undefined;
}

async function multipartUpload(
  target: UploadTarget,
  UploadClass: typeof Upload,
  Body: Readable | Uint8Array,
): Promise<void> {
  const { client, Bucket, Key, ContentType, partSize, queueSize } = target;
  // The abort is ours (leavePartsOnError): the SDK would reject with the abort's failure and
  // lose why the upload failed.
  const upload = new UploadClass({
    client,
    params: { Bucket, Key, ContentType, Body },
    partSize,
    queueSize,
    leavePartsOnError: true,
  });
  try {
    await upload.done();
  } catch (err) {
    if (upload.uploadId !== undefined) await abortUpload(target, upload.uploadId, err);
    throw err;
  }
}

/** Aborts a failed upload; if S3 refuses, the error says the parts remain, and where. */
async function abortUpload(target: UploadTarget, UploadId: string, failure: unknown) {
  const { client, Bucket, Key } = target;
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
  } catch (abortError) {
    const why = (failure as Error)?.name ?? 'error';
    const refused = (abortError as Error)?.name ?? 'error';
    throw new StorageUnavailableError(
      DRIVER,
      `saving ${JSON.stringify(Key)} failed (${why}), and aborting multipart upload ${UploadId} failed too (${refused}): its parts remain until a lifecycle rule removes them`,
      { cause: failure },
    );
  }
}

/**
 * `@aws-sdk/lib-storage`, loaded on the first save that needs it: an optional peer, so that
 * read-only users need not install it.
 */
async function loadUpload(): Promise<typeof Upload> {
  try {
    return (await import('@aws-sdk/lib-storage')).Upload;
  } catch (err) {
    throw new StorageUnsupportedError(
      DRIVER,
      'saving a stream, an iterable or bytes over one part without @aws-sdk/lib-storage, which could not be loaded: install it beside @aws-sdk/client-s3',
      { cause: err },
    );
  }
}
