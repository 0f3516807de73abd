import type { S3Client } from '@aws-sdk/client-s3';
import { checkOptionKeys, type OptionKeys } from '../src/options.ts';
import type { UrlPresentation } from '../src/storage.ts';
import {
  DEFAULT_PART_SIZE,
  DEFAULT_QUEUE_SIZE,
  isStorableType,
  MAX_PART_SIZE,
  MAX_QUEUE_SIZE,
  MIN_PART_SIZE,
} from './s3-upload.ts';

const DEFAULT_EXPIRES_IN = 900;
/** The longest lifetime of a presigned URL signed with SigV4: 7 days. */
const MAX_EXPIRES_IN = 604_800;

/** Options of `S3Storage`. */
export interface S3StorageOptions {
  /** A configured client; any S3-compatible endpoint (AWS, MinIO, R2, Ceph). */
  client: S3Client;
  /** The bucket the storage reads and writes; it must already exist. */
  bucket: string;
  /** A key prefix the storage's names live under, e.g. `media/`. */
  prefix?: string;
  /** A public or CDN URL that maps to `prefix`; without it `url()` presigns GET URLs. */
  baseUrl?: string;
  /** Lifetime of presigned URLs, in seconds. Default 900. */
  urlExpiresIn?: number;
  /** Bytes per part of a multipart `save()`, 5 MiB to 5 GiB. Default 8 MiB. */
  partSize?: number;
  /** Parts of one `save()` uploaded at once, 1 to 64. Default 4. */
  queueSize?: number;
}

/** Options of `S3Storage.save()`, beyond what `Storage.save()` takes. */
export interface S3SaveOptions {
  /** The Content-Type to store. Default: guessed from the name's extension. */
  contentType?: string;
}

/**
 * How a presigned URL should present the download: the values S3 then answers with, as
 * `response-content-disposition` and `response-content-type`, formatted by the caller.
 */
export interface PresignOptions extends Partial<UrlPresentation> {
  /** Lifetime in seconds. Default: the storage's `urlExpiresIn`. */
  expiresIn?: number;
}

/** `S3StorageOptions` checked, with their defaults. */
export type S3StorageSettings = Required<Omit<S3StorageOptions, 'baseUrl'>> &
  Pick<S3StorageOptions, 'baseUrl'>;

const OPTION_KEYS: OptionKeys<S3StorageOptions> = {
  client: true,
  bucket: true,
  prefix: true,
  baseUrl: true,
  urlExpiresIn: true,
  partSize: true,
  queueSize: true,
};

const SAVE_OPTION_KEYS: OptionKeys<S3SaveOptions> = { contentType: true };

const PRESIGN_OPTION_KEYS: OptionKeys<PresignOptions> = {
  expiresIn: true,
  contentDisposition: true,
  contentType: true,
};

/**
 * Checks the options of `S3Storage` once, at construction, naming the wrong one and its legal
 * values, and fills in the defaults.
 */
export function s3StorageSettings(options: S3StorageOptions): S3StorageSettings {
  checkOptionKeys('S3Storage', options, OPTION_KEYS);
  const {
    client,
    bucket,
    prefix = '',
    baseUrl,
    urlExpiresIn = DEFAULT_EXPIRES_IN,
    partSize = DEFAULT_PART_SIZE,
    queueSize = DEFAULT_QUEUE_SIZE,
  } = options ?? {};
  if (typeof client?.send !== 'function') throw optionError('client', 'an S3Client');
  if (typeof bucket !== 'string' || bucket === '') throw optionError('bucket', 'a bucket name');
  if (typeof prefix !== 'string') throw optionError('prefix', 'a string');
  if (baseUrl !== undefined && (typeof baseUrl !== 'string' || baseUrl === '')) {
    throw optionError('baseUrl', 'a non-empty URL');
  }
  if (!isWholeWithin(urlExpiresIn, 1, MAX_EXPIRES_IN)) {
    throw optionError('urlExpiresIn', `whole seconds from 1 to ${MAX_EXPIRES_IN} (7 days)`);
  }
  if (!isWholeWithin(partSize, MIN_PART_SIZE, MAX_PART_SIZE)) {
    throw optionError('partSize', `whole bytes from ${MIN_PART_SIZE} (5 MiB) to ${MAX_PART_SIZE}`);
  }
  if (!isWholeWithin(queueSize, 1, MAX_QUEUE_SIZE)) {
    throw optionError('queueSize', `a whole number from 1 to ${MAX_QUEUE_SIZE}`);
  }
  return { client, bucket, prefix, baseUrl, urlExpiresIn, partSize, queueSize };
}

/** Checks the options of one `save()`; a type that S3 would send back broken is refused. */
export function checkSaveOptions(options: S3SaveOptions): void {
  checkOptionKeys('S3Storage.save', options, SAVE_OPTION_KEYS);
  const { contentType } = options;
  if (contentType !== undefined && !isStorableType(contentType)) {
    throw new TypeError(
      `S3Storage.save option "contentType" must be an ASCII media type such as text/csv, got ${JSON.stringify(contentType)}`,
    );
  }
}

/** Checks the options of one `presignedUrl()`. */
export function checkPresignOptions(options: PresignOptions): void {
  checkOptionKeys('S3Storage.presignedUrl', options, PRESIGN_OPTION_KEYS);
}

function isWholeWithin(value: unknown, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

function optionError(name: string, legal: string): TypeError {
  return new TypeError(`S3Storage option "${name}" must be ${legal}`);
}
