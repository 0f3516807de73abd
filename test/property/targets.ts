/**
 * The systems under test for the property suite: one Koa app with `downloadview()` serving the
 * same four files (0 B, 1 B, 1 KiB, 1 MiB) from each kind of source, over a listening server.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Context, Next } from 'koa';
import {
  downloadview,
  StorageFile,
  StorageNotFoundError,
  VirtualFile,
  type ByteRange,
  type Storage,
  type StorageStat,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { S3Storage } from '../../storages/s3.ts';
import { startS3Server, type S3TestServer } from '../../support/s3-server.ts';
import { serve, type TestServer } from '../support/koa.ts';

/** The sizes every target serves. */
export const SIZES = [0, 1, 1024, 1024 * 1024] as const;

/** A file as a target serves it: its bytes and the validators its source reports. */
export interface ServedFile {
  readonly name: string;
  readonly bytes: Buffer;
  /** The source's own strong ETag; `undefined` when the library derives one. */
  readonly etag: string | undefined;
  readonly lastModified: Date;
  readonly rangeable: boolean;
}

/** One source of files behind the same middleware. */
export interface Target {
  readonly label: string;
  readonly path: string;
  readonly files: readonly ServedFile[];
}

/** A Last-Modified with a fraction of a second: HTTP dates drop it (RFC 9110 §5.6.7). */
const MODIFIED = new Date('2026-11-30T10:20:30.750Z');

/**
 * A custom driver as a user would write one: `stat` and `open` over Buffers, nothing optional,
 * no ETag of its own (the library then derives one from size and mtime).
 */
class BufferStorage implements Storage {
  readonly driver = 'buffer';
  constructor(readonly files: ReadonlyMap<string, Buffer>) {}

  async stat(name: string): Promise<StorageStat> {
    return { size: this.#bytes(name).length, modified: MODIFIED };
  }

  async open(name: string, range?: ByteRange): Promise<Readable> {
    const bytes = this.#bytes(name);
    return Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]);
  }

  #bytes(name: string): Buffer {
    const bytes = this.files.get(name);
    if (!bytes) throw new StorageNotFoundError(this.driver, name);
    return bytes;
  }
}

/** The running app and its targets. */
export interface PropertyServer {
  readonly url: string;
  readonly targets: readonly Target[];
  readonly server: TestServer;
  close(): Promise<void>;
}

/** Starts s3rver, writes the files to every storage, and serves them all from one app. */
export async function startTargets(): Promise<PropertyServer> {
  const contents = new Map(SIZES.map((size) => [`f${size}.bin`, randomBytes(size)]));
  const dir = await mkdtemp(join(tmpdir(), 'kdv-property-'));
  for (const [name, bytes] of contents) {
    await writeFile(join(dir, name), bytes);
    await utimes(join(dir, name), MODIFIED, MODIFIED);
  }
  const s3 = await startS3Server();
  const storages: Record<string, Storage> = {
    filesystem: new FileSystemStorage({ location: dir }),
    memory: new MemoryStorage({ files: Object.fromEntries(contents) }),
    s3: new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix: 'property/' }),
    custom: new BufferStorage(contents),
  };
  for (const [name, bytes] of contents) await (storages.s3 as S3Storage).save(name, bytes);
  const virtualEtag = (name: string) => `"v-${name}"`;
  const route = async (ctx: Context, next: Next) => {
    const [, , kind = '', name = ''] = ctx.path.split('/');
    const bytes = contents.get(name);
    if (!bytes) return next();
    const storage = storages[kind];
    if (storage) ctx.body = new StorageFile(storage, name);
    else if (kind === 'virtual') {
      ctx.body = new VirtualFile(bytes, { name, modified: MODIFIED, etag: virtualEtag(name) });
    } else if (kind === 'virtual-stream') {
      // Generated content of a declared size: sent whole, never ranged.
      const chunks = [bytes.subarray(0, 100), bytes.subarray(100)];
      const options = { name, size: bytes.length, modified: MODIFIED, etag: virtualEtag(name) };
      ctx.body = new VirtualFile(chunks, options);
    } else return next();
  };
  const server = await serve(downloadview(), route);
  const targets: Target[] = [];
  for (const [label, storage] of Object.entries(storages)) {
    targets.push(await storageTarget(label, storage, contents));
  }
  for (const label of ['virtual', 'virtual-stream']) {
    const files = [...contents].map(([name, bytes]) => ({
      name,
      bytes,
      etag: virtualEtag(name),
      lastModified: MODIFIED,
      rangeable: label === 'virtual',
    }));
    targets.push({ label, path: `/t/${label}/`, files });
  }
  return { url: server.url, targets, server, close: () => closeAll(server, s3, dir) };
}

async function storageTarget(
  label: string,
  storage: Storage,
  contents: ReadonlyMap<string, Buffer>,
): Promise<Target> {
  const files: ServedFile[] = [];
  for (const [name, bytes] of contents) {
    const stat = await storage.stat(name);
    files.push({ name, bytes, etag: stat.etag, lastModified: stat.modified, rangeable: true });
  }
  return { label, path: `/t/${label}/`, files };
}

async function closeAll(server: TestServer, s3: S3TestServer, dir: string): Promise<void> {
  await server.close();
  await s3.stop();
  await rm(dir, { recursive: true, force: true });
}
