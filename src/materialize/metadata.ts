import { buffer } from 'node:stream/consumers';
import { StorageInvalidNameError, StorageNotFoundError } from '../errors.ts';
import { isMediaType } from '../http/header-value.ts';
import { normalizeName } from '../names.ts';
import type { Storage } from '../storage.ts';

/**
 * How a materialized copy presents itself: what the original download said, kept beside the
 * bytes so that later requests present the copy the same way without generating it again.
 */
export interface MaterializedMetadata {
  /** The name the user sees (Content-Disposition). */
  readonly filename: string;
  /** `true`: saved as a file; `false`: displayed inline. */
  readonly attachment: boolean;
  /** The Content-Type the original was sent with (the origin's own, for an `HttpFile`). */
  readonly contentType: string;
}

/**
 * The metadata of `<key>` is stored as `<key>` + this suffix, written after the bytes: its
 * presence marks a complete copy. Keys ending with it are refused, so no key names another's
 * metadata.
 */
export const METADATA_SUFFIX = '.materialized.json';

/** A metadata record is a few hundred bytes; anything much larger is not one of ours. */
const MAX_METADATA_BYTES = 16 * 1024;

/** The longest file name (one path segment) of most filesystems: ext4, XFS, APFS, NTFS. */
const MAX_SEGMENT_BYTES = 255;

/**
 * The storage name of a key, refused (404) when it is hostile, hidden or reserved: the one
 * normalisation of names, then what `StorageFile` would refuse by default (a segment starting
 * with a dot), then the metadata suffix.
 *
 * @example
 * materializedName(storage, 'reports//42.csv'); // 'reports/42.csv'
 */
export function materializedName(storage: Storage, key: string): string {
  const name = normalizeName(key, storage.driver);
  const refuse = (reason: string) => new StorageInvalidNameError(storage.driver, key, reason);
  if (name.split('/').some((segment) => segment.startsWith('.'))) throw refuse('dot segment');
  if (name.endsWith(METADATA_SUFFIX)) throw refuse(`reserved suffix ${METADATA_SUFFIX}`);
  // The metadata's name is the key's plus the suffix: its last segment must still fit the
  // 255 bytes most filesystems allow, or the copy would be generated and then not recorded.
  const last = name.slice(name.lastIndexOf('/') + 1);
  if (Buffer.byteLength(last + METADATA_SUFFIX) > MAX_SEGMENT_BYTES) {
    throw refuse(`last segment over ${MAX_SEGMENT_BYTES - METADATA_SUFFIX.length} bytes`);
  }
  return name;
}

/**
 * The metadata of a complete copy of `name`, or `undefined` when there is none (never
 * generated, in progress elsewhere, or a record that is not valid, which a new generation then
 * replaces). A storage that cannot be read rejects.
 */
export async function readMetadata(
  storage: Storage,
  name: string,
): Promise<MaterializedMetadata | undefined> {
  let bytes: Buffer;
  try {
    bytes = await buffer(await storage.open(name + METADATA_SUFFIX));
  } catch (err) {
    if (err instanceof StorageNotFoundError) return undefined;
    throw err;
  }
  return bytes.length <= MAX_METADATA_BYTES ? parseMetadata(bytes.toString('utf8')) : undefined;
}

/** Writes the record that marks `name` complete. */
export async function writeMetadata(
  storage: Required<Pick<Storage, 'save'>>,
  name: string,
  metadata: MaterializedMetadata,
): Promise<void> {
  const { filename, attachment, contentType } = metadata;
  await storage.save(name + METADATA_SUFFIX, JSON.stringify({ filename, attachment, contentType }));
}

function parseMetadata(text: string): MaterializedMetadata | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { filename, attachment, contentType } = (value ?? {}) as Record<string, unknown>;
  const valid =
    typeof filename === 'string' &&
    filename !== '' &&
    typeof attachment === 'boolean' &&
    typeof contentType === 'string' &&
    isMediaType(contentType);
  return valid ? { filename, attachment, contentType } : undefined;
}
