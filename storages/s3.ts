/**
 * A `Storage` over an S3 bucket (AWS, MinIO, R2, Ceph), with presigned or public URLs for
 * redirect offload.
 *
 * @packageDocumentation
 * @module koa-downloadview/storages/s3
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import {
  StorageChangedError,
  StorageError,
  StorageNotFoundError,
  StorageUnavailableError,
  StorageUnsupportedError,
} from '../src/errors.ts';
import { joinUrl, normalizeName } from '../src/names.ts';
import { sliceStream } from '../src/generator-stream.ts';
import { S3OpenedFile } from './s3-file.ts';
import {
  checkPresignOptions,
  checkSaveOptions,
  s3StorageSettings,
  type PresignOptions,
  type S3SaveOptions,
  type S3StorageOptions,
} from './s3-options.ts';
import { typeFromName, uploadContent } from './s3-upload.ts';
import {
  existsByStat,
  type ByteRange,
  type OpenedFile,
  type OpenFileOptions,
  type OpenOptions,
  type Storage,
  type StorageContent,
  type StorageStat,
  type UrlPresentation,
} from '../src/storage.ts';

const DRIVER = 's3';
const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);

/**
 * The longest object key S3 accepts, in bytes of UTF-8 (Amazon S3 User Guide, "Naming Amazon S3
 * objects"). A longer name, prefix included, is answered 404 like any other missing name.
 */
const S3_MAX_KEY_BYTES = 1024;

export type { PresignOptions, S3SaveOptions, S3StorageOptions } from './s3-options.ts';

/**
 * Objects in an S3 bucket. Metadata comes from HeadObject (or, for a plain download through
 * `openFile`, from the GetObject that carries the body); reads are GetObject calls with an
 * explicit `bytes=start-end` Range, so only the requested bytes leave the bucket (suffix
 * ranges are never sent: some S3-compatible servers resolve them wrongly). There is no local
 * path; `url()` is the CDN URL or a presigned GET.
 *
 * @example
 * const storage = new S3Storage({ client: new S3Client({ region: 'eu-west-1' }), bucket: 'media' });
 */
export class S3Storage implements Storage {
  readonly driver = DRIVER;
  /** The client every request goes through, as configured by the caller. */
  readonly client: S3Client;
  /** The bucket the objects live in. */
  readonly bucket: string;
  /** The key prefix prepended to every name; `''` for the bucket's root. */
  readonly prefix: string;
  /** The public or CDN URL mapped to `prefix`; `undefined` when `url()` presigns instead. */
  readonly baseUrl: string | undefined;
  /** Lifetime of presigned URLs, in seconds. */
  readonly urlExpiresIn: number;
  /** Bytes per part of a multipart `save()`. */
  readonly partSize: number;
  /** Parts of one `save()` uploaded at once. */
  readonly queueSize: number;

  constructor(options: S3StorageOptions) {
    const settings = s3StorageSettings(options);
    this.client = settings.client;
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    this.baseUrl = settings.baseUrl;
    this.urlExpiresIn = settings.urlExpiresIn;
    this.partSize = settings.partSize;
    this.queueSize = settings.queueSize;
  }

  async stat(name: string): Promise<StorageStat> {
    const head = await this.#call(name, () =>
      this.client.send(new HeadObjectCommand(this.#object(name))),
    );
    return objectStat(head);
  }

  /**
   * With `whole`, one GetObject: its response gives the metadata and the body, so a plain
   * download costs one request instead of HeadObject then GetObject. Otherwise HeadObject, and
   * reads are GetObject calls pinned to that version, as `stat()` then `open()` would be.
   */
  async openFile(name: string, options?: OpenFileOptions): Promise<OpenedFile> {
    const readPinned = (stat: StorageStat) => (range?: ByteRange) =>
      this.open(name, range, { ifMatch: stat.etag });
    if (!options?.whole) {
      const stat = await this.stat(name);
      return new S3OpenedFile(name, stat, readPinned(stat));
    }
    const object = await this.#call(name, () =>
      this.client.send(new GetObjectCommand(this.#object(name))),
    );
    const stat = objectStat(object);
    return new S3OpenedFile(name, stat, readPinned(stat), object.Body as Readable);
  }

  /**
   * With `ifMatch`, GetObject carries `If-Match`, so S3 itself refuses (412) to send bytes of
   * a newer version than the metadata the response was planned from; S3 has no If-Range, and
   * this is what stands in for it.
   */
  async open(name: string, range?: ByteRange, options?: OpenOptions): Promise<Readable> {
    const Range = range ? `bytes=${range.start}-${range.end}` : undefined;
    const IfMatch = options?.ifMatch;
    const object = await this.#call(name, () =>
      this.client.send(new GetObjectCommand({ ...this.#object(name), Range, IfMatch })),
    );
    const body = object.Body as Readable;
    if (!range) return body;
    const served = servedRange(object.ContentRange);
    if (served?.start === range.start && served.end === range.end) return body;
    // Some S3-compatible servers ignore or widen a Range (s3rver reads `bytes=0-0` as the
    // whole object): the requested bytes are cut out of what came, never a wrong answer sent.
    const firstByte = served?.start ?? 0;
    if (firstByte > range.start || (served && served.end < range.end)) {
      body.destroy();
      throw new StorageUnavailableError(
        DRIVER,
        `server answered ${object.ContentRange} to ${Range}`,
      );
    }
    return sliceStream(body, range, firstByte);
  }

  async exists(name: string): Promise<boolean> {
    return existsByStat(this, name);
  }

  /**
   * Stores `content` with its Content-Type: `contentType` if given, else the type guessed from
   * the name's extension (the stored type is what S3 answers with, and beats any later guess).
   * A string or bytes of at most one part is one PutObject; anything else is a multipart upload
   * through `@aws-sdk/lib-storage` (loaded here, on first use), holding about `queueSize` parts
   * in memory whatever the size. A failed save creates no object and leaves any previous one
   * as it was; its multipart upload is aborted (the error says so if the abort fails too).
   *
   * @example
   * await storage.save('exports/all.csv', Readable.from(rows()), { contentType: 'text/csv' });
   */
  async save(name: string, content: StorageContent, options: S3SaveOptions = {}): Promise<void> {
    checkSaveOptions(options);
    const object = this.#object(name);
    const { client, partSize, queueSize } = this;
    const target = { client, partSize, queueSize, ...object };
    const ContentType = options.contentType ?? typeFromName(object.Key);
    await this.#call(name, () => uploadContent({ ...target, ContentType }, content));
  }

  /** S3 deletes are idempotent; the HEAD first reports a missing name (racy by nature). */
  async delete(name: string): Promise<void> {
    await this.stat(name);
    await this.#call(name, () => this.client.send(new DeleteObjectCommand(this.#object(name))));
  }

  async path(name: string): Promise<string> {
    normalizeName(name, DRIVER);
    throw new StorageUnsupportedError(DRIVER, 'path: objects have no local path');
  }

  /**
   * `baseUrl` + the name when a base URL is set (a CDN cannot be signed, so `presentation` is
   * ignored there), else a presigned GET URL carrying `presentation`.
   */
  async url(name: string, presentation?: UrlPresentation): Promise<string> {
    const normal = normalizeName(name, DRIVER);
    if (this.baseUrl !== undefined) return joinUrl(this.baseUrl, normal);
    return this.presignedUrl(normal, presentation);
  }

  /**
   * A presigned GET URL. With `contentDisposition` / `contentType` S3 answers with those
   * headers, so a browser sent there saves the download's name. Non-ASCII names should travel
   * in RFC 8187 `filename*` with an ASCII `filename=`: some S3-compatible servers garble raw
   * UTF-8 in that parameter.
   *
   * @example
   * await storage.presignedUrl('a.pdf', { contentDisposition: 'attachment; filename="Invoice.pdf"', expiresIn: 60 });
   */
  async presignedUrl(name: string, options: PresignOptions = {}): Promise<string> {
    checkPresignOptions(options);
    const { expiresIn = this.urlExpiresIn, contentDisposition, contentType } = options;
    const command = new GetObjectCommand({
      ...this.#object(name),
      ResponseContentDisposition: contentDisposition,
      ResponseContentType: contentType,
    });
    return getSignedUrl(this.client, command, { expiresIn });
  }

  /** A key longer than S3 allows names no object: not found, without asking the server. */
  #object(name: string): { Bucket: string; Key: string } {
    const Key = this.prefix + normalizeName(name, DRIVER);
    if (Buffer.byteLength(Key) > S3_MAX_KEY_BYTES) throw new StorageNotFoundError(DRIVER, name);
    return { Bucket: this.bucket, Key };
  }

  async #call<T>(name: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw s3Error(err, name);
    }
  }
}

/**
 * The one mapping of S3 failures: a missing key is "not found"; denied access, throttling,
 * 5xx and network failures are "unavailable" (503), never a crash with a stack. A 416 can only
 * come from an object that shrank since its metadata was read: also "unavailable".
 */
function s3Error(err: unknown, name: string): StorageError {
  if (err instanceof StorageError) return err;
  const failure = err as { name?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = failure.$metadata?.httpStatusCode;
  if (NOT_FOUND.has(failure.name ?? '') || status === 404) {
    return new StorageNotFoundError(DRIVER, name, { cause: err });
  }
  if (failure.name === 'PreconditionFailed' || status === 412) {
    return new StorageChangedError(DRIVER, name, { cause: err });
  }
  const what = failure.name ?? failure.code ?? 'error';
  return new StorageUnavailableError(
    DRIVER,
    `request for ${JSON.stringify(name)} failed: ${what}`,
    {
      cause: err,
    },
  );
}

/** Metadata from a HeadObject or GetObject response. */
function objectStat(object: HeadObjectCommandOutput | GetObjectCommandOutput): StorageStat {
  return {
    size: object.ContentLength ?? 0,
    modified: object.LastModified ?? new Date(0),
    etag: strongEtag(object.ETag),
    contentType: object.ContentType,
  };
}

function servedRange(header: string | undefined): ByteRange | undefined {
  const match = /^bytes (\d+)-(\d+)\//.exec(header ?? '');
  return match ? { start: Number(match[1]), end: Number(match[2]) } : undefined;
}

/** S3's ETag is quoted already; a weak one (some gateways) is not a strong validator. */
function strongEtag(etag: string | undefined): string | undefined {
  return etag && etag.startsWith('"') ? etag : undefined;
}
