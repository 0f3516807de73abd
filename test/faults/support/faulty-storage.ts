import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import type { ByteRange, OpenOptions, Storage } from '../../../src/storage.ts';

/**
 * One fault to inject at the driver's boundary. Byte counts are of the stream `open()` gives:
 * the whole file, or the range asked.
 */
export type Fault =
  | { readonly kind: 'stat throws' }
  | { readonly kind: 'stat hangs' }
  | { readonly kind: 'open fails with EMFILE' }
  | { readonly kind: 'open hangs'; readonly thenOpensAfterMs?: number }
  | {
      readonly kind: 'errors after';
      readonly bytes: number;
      /** Fail in the tick that gives the last good bytes, as a stream may; else 20 ms later. */
      readonly sameTick?: boolean;
    }
  | { readonly kind: 'ends early by'; readonly bytes: number }
  | { readonly kind: 'stalls after'; readonly bytes: number };

/** What the injection left behind, read by the tests once a download is over. */
export interface FaultyStorage {
  readonly storage: Storage;
  /** Streams of the wrapped storage still open. */
  readonly liveStreams: number;
  /** Calls that are still hanging (stat, open), never settled. */
  readonly hanging: number;
  /** Ends every hang (a storage that answers at last), so a test leaves nothing pending. */
  releaseHangs(): void;
}

/** The error a system call fails with, as Node gives it. */
function systemError(code: string, syscall: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected, ${syscall}`);
  err.code = code;
  err.syscall = syscall;
  return err;
}

/**
 * Wraps a real storage (filesystem, memory, S3) as a custom driver that injects `fault()` into
 * every `stat()` or `open()`: the driver contract's required methods only, so the streaming
 * backend takes the `stat()` then `open()` path every custom driver gets. The bytes are the real
 * storage's; only their delivery is broken.
 */
export function faultyStorage(inner: Storage, fault: () => Fault | undefined): FaultyStorage {
  let live = 0;
  const hangs = new Set<() => void>();
  const hang = <T>(settle?: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const release = () => {
        hangs.delete(release);
        if (settle) settle().then(resolve, reject);
        else reject(systemError('ETIMEDOUT', 'released'));
      };
      hangs.add(release);
    });
  const track = (stream: Readable): Readable => {
    live++;
    stream.once('close', () => live--);
    return stream;
  };
  const storage: Storage = {
    driver: `faulty ${inner.driver}`,
    stat(name) {
      const now = fault();
      if (now?.kind === 'stat throws') return Promise.reject(systemError('EIO', 'stat'));
      if (now?.kind === 'stat hangs') return hang();
      return inner.stat(name);
    },
    async open(name: string, range?: ByteRange, options?: OpenOptions) {
      const now = fault();
      if (now?.kind === 'open fails with EMFILE') throw systemError('EMFILE', 'open');
      if (now?.kind === 'open hangs') {
        const late = now.thenOpensAfterMs;
        const opened = hang(() => inner.open(name, range, options).then(track));
        if (late !== undefined) setTimeout(() => [...hangs].forEach((r) => r()), late).unref();
        return opened;
      }
      const stream = track(await inner.open(name, range, options));
      if (!now || !('bytes' in now)) return stream;
      const length = range ? range.end - range.start + 1 : (await inner.stat(name)).size;
      return stream.pipe(breaking(stream, now, length));
    },
    exists: (name) => inner.exists!(name),
    save: (name, content) => inner.save!(name, content),
    delete: (name) => inner.delete!(name),
  };
  return {
    storage,
    get liveStreams() {
      return live;
    },
    get hanging() {
      return hangs.size;
    },
    releaseHangs: () => [...hangs].forEach((release) => release()),
  };
}

/** Passes the bytes of `source` until the fault's byte, then breaks as the fault says. */
function breaking(
  source: Readable,
  fault: Extract<Fault, { bytes: number }>,
  length: number,
): Transform {
  const cut = fault.kind === 'ends early by' ? Math.max(0, length - fault.bytes) : fault.bytes;
  let passed = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      if (passed + chunk.length < cut) {
        passed += chunk.length;
        callback(null, chunk);
        return;
      }
      const head = chunk.subarray(0, cut - passed);
      passed = cut;
      if (head.length > 0) this.push(head);
      source.unpipe(this);
      if (fault.kind === 'errors after' && fault.sameTick) callback(systemError('EIO', 'read'));
      else if (fault.kind === 'errors after') {
        setTimeout(() => callback(systemError('EIO', 'read')), 20);
      } else if (fault.kind === 'ends early by') {
        source.destroy();
        this.push(null);
        callback();
      }
      // 'stalls after': the callback is never called, and nothing more comes.
    },
    destroy(err, callback) {
      source.destroy();
      callback(err);
    },
  });
  source.on('error', (err) => transform.destroy(err));
  return transform;
}
