import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  StorageNotFoundError,
  StorageUnsupportedError,
  normalizeName,
  type ByteRange,
  type Storage,
  type StorageStat,
} from '../../src/index.ts';

/**
 * A worked example of a custom storage driver: files read, without extraction, from an
 * uncompressed tar archive (a release bundle, a backup). It is read-only, so `save`, `delete`,
 * `path` and `url` say "unsupported", and it passes `describeStorageContract`.
 *
 * The archive is indexed once, on first use, by reading its 512-byte headers and skipping the
 * data; reads then open the archive at the member's offset. Streaming tar packages read
 * archives front to back, which is why the index is built here by hand.
 *
 * @example
 * const storage = new TarStorage({ archive: '/srv/releases/v1.2.tar' });
 */
export class TarStorage implements Storage {
  readonly driver = 'tar';
  readonly archive: string;
  #index: Promise<Map<string, TarMember>> | undefined;

  constructor(options: { archive: string }) {
    if (typeof options?.archive !== 'string' || options.archive === '') {
      throw new TypeError('TarStorage option "archive" must be a path to a .tar file');
    }
    this.archive = options.archive;
  }

  async stat(name: string): Promise<StorageStat> {
    const member = await this.#member(name);
    return { size: member.size, modified: member.modified };
  }

  async open(name: string, range?: ByteRange): Promise<Readable> {
    const member = await this.#member(name);
    // An empty member has no byte window to read (createReadStream needs start <= end).
    if (member.size === 0) return Readable.from([]);
    const handle = await open(this.archive, 'r');
    const start = member.offset + (range?.start ?? 0);
    const end = member.offset + (range?.end ?? member.size - 1);
    return handle.createReadStream({ start, end });
  }

  async exists(name: string): Promise<boolean> {
    return (await this.#load()).has(normalizeName(name, this.driver));
  }

  async save(): Promise<void> {
    throw new StorageUnsupportedError(this.driver, 'save: archives are read-only');
  }

  async delete(): Promise<void> {
    throw new StorageUnsupportedError(this.driver, 'delete: archives are read-only');
  }

  async path(name: string): Promise<string> {
    normalizeName(name, this.driver);
    throw new StorageUnsupportedError(this.driver, 'path: members have no path of their own');
  }

  async url(name: string): Promise<string> {
    normalizeName(name, this.driver);
    throw new StorageUnsupportedError(this.driver, 'url');
  }

  async #member(name: string): Promise<TarMember> {
    const member = (await this.#load()).get(normalizeName(name, this.driver));
    if (!member) throw new StorageNotFoundError(this.driver, name);
    return member;
  }

  #load(): Promise<Map<string, TarMember>> {
    this.#index ??= indexArchive(this.archive);
    return this.#index;
  }
}

interface TarMember {
  offset: number;
  size: number;
  modified: Date;
}

const BLOCK = 512;

/** Reads every header of the archive: ustar and GNU long names, PAX `path` records. */
async function indexArchive(archive: string): Promise<Map<string, TarMember>> {
  const index = new Map<string, TarMember>();
  const handle = await open(archive, 'r');
  try {
    let position = 0;
    let longName: string | undefined;
    for (;;) {
      const header = Buffer.alloc(BLOCK);
      const { bytesRead } = await handle.read(header, 0, BLOCK, position);
      if (bytesRead < BLOCK || header.every((byte) => byte === 0)) break;
      const size = octal(header, 124, 12);
      const type = String.fromCharCode(header[156] ?? 0);
      const data = position + BLOCK;
      if (type === 'L' || type === 'x') {
        const body = Buffer.alloc(size);
        await handle.read(body, 0, size, data);
        longName = type === 'L' ? body.toString('utf8').replace(/\0.*$/s, '') : paxPath(body);
      } else {
        const name = (longName ?? ustarName(header)).replace(/^\.\//, '');
        longName = undefined;
        if (type === '0' || type === '\0') {
          index.set(name, {
            offset: data,
            size,
            modified: new Date(octal(header, 136, 12) * 1000),
          });
        }
      }
      position = data + Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    await handle.close();
  }
  return index;
}

function ustarName(header: Buffer): string {
  const field = (start: number, length: number) =>
    header
      .subarray(start, start + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  const prefix = field(345, 155);
  return prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
}

function paxPath(body: Buffer): string | undefined {
  // Records are "<length> <key>=<value>\n".
  return /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
}

function octal(header: Buffer, start: number, length: number): number {
  return parseInt(
    header
      .subarray(start, start + length)
      .toString('ascii')
      .replace(/\0.*$/s, '')
      .trim() || '0',
    8,
  );
}
