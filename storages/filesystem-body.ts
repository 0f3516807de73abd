import { read } from 'node:fs';
import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { StorageChangedError } from '../src/errors.ts';
import { BYTES_WRITTEN, markExactLength, markWritingDirectly } from '../src/direct-body.ts';
import { DRIVER } from './filesystem-errors.ts';
import { release } from './filesystem-descriptor.ts';

/**
 * How many read buffers one body piped straight into a response keeps for reuse: one read into
 * while one is written keeps both busy; a third covers a write callback that comes late.
 */
const DIRECT_BUFFERS = 3;

/**
 * The bytes `start`..`end` of the file open at `fd`, exactly: it never reads past `end`, and a
 * file that ends before fails the body with a `StorageChangedError`. It owns the descriptor and
 * closes it once the body ends or is destroyed, never while a read is in flight (the number
 * could by then name another file).
 *
 * Read by anyone (a middleware that wraps or watches the body, HTTP/2), each chunk is a fresh
 * Buffer the reader may keep. Piped straight into an HTTP/1 response with no other reader, it
 * writes itself instead, into a few buffers of its own that are read into again only once the
 * socket has taken their bytes (the write callback): a large download then allocates no
 * memory per chunk. Fresh 64 KiB chunks live outside V8's heap, and V8 answers their growth
 * with full collections, one every few tens of megabytes sent (docs/performance.md, s2).
 */
export class FileSystemBody extends Readable {
  readonly #name: string;
  readonly #chunkSize: number;
  readonly #length: number;
  #fd: number | undefined;
  #position: number;
  #end: number;
  #direct = false;
  /** Someone listens to `data` although the body writes itself: they get copies. */
  #shared = false;
  /** A read is in flight: closing the descriptor now could make it read another file. */
  #reading = false;
  #afterRead: (() => void) | undefined;
  /** The read Readable itself asked for, until its chunk is pushed. */
  #pendingRead: Promise<void> | undefined;

  constructor(fd: number, name: string, start: number, end: number, chunkSize: number) {
    super({ highWaterMark: chunkSize });
    this.#fd = fd;
    this.#name = name;
    this.#chunkSize = chunkSize;
    this.#position = start;
    this.#end = end + 1;
    this.#length = end + 1 - start;
    markExactLength(this, this.#length);
  }

  override _read(): void {
    // Once writing directly, every read is the pump's; Readable's own would race it.
    if (this.#direct) return;
    const buffer = Buffer.allocUnsafe(Math.min(this.#chunkSize, this.#end - this.#position));
    if (buffer.length === 0) {
      this.push(null);
      return;
    }
    this.#pendingRead = this.#readInto(buffer).then(
      (chunk) => {
        if (chunk !== undefined) this.push(chunk);
      },
      (err: Error) => {
        this.destroy(err);
      },
    );
  }

  /**
   * A `data` listener added once the body writes itself (in a `pipe` listener of the response,
   * or a second pipe, a tee) gets a copy of every chunk written from then on, and `end` as any
   * stream gives: never a reused buffer, and never a silent nothing.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own signature
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    if (event === 'data' && this.#direct) this.#shared = true;
    return super.on(event, listener);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own signature
  override addListener(event: string | symbol, listener: (...args: any[]) => void): this {
    return this.on(event, listener);
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (!this.#canWriteInto(destination)) return super.pipe(destination, options);
    this.#direct = true;
    markWritingDirectly(this);
    // What is buffered already (the first chunk the backend waited for) is taken now, before
    // anyone can listen: the pump then writes it, and hands a copy to listeners added below.
    const first = this.#pendingRead ? undefined : ((this.read() as Buffer | null) ?? undefined);
    destination.emit('pipe', this);
    void this.#pump(destination, options?.end !== false, first);
    return destination;
  }

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    const close = () => {
      if (this.#fd !== undefined) release(this.#fd);
      this.#fd = undefined;
      callback(err);
    };
    if (this.#reading) this.#afterRead = close;
    else close();
  }

  /**
   * Only an HTTP/1 response (plain or TLS) that nothing else reads beside: its write callback
   * fires once the socket took the bytes. A `data` or `readable` listener could keep a chunk,
   * and a pipe into anything else (a compressor, a PassThrough) hands chunks on to unknown code.
   */
  #canWriteInto(
    destination: NodeJS.WritableStream,
  ): destination is ServerResponse & typeof destination {
    return (
      destination instanceof ServerResponse &&
      !this.#direct &&
      !this.destroyed &&
      this.readableFlowing !== true &&
      this.listenerCount('data') === 0 &&
      this.listenerCount('readable') === 0
    );
  }

  async #pump(res: ServerResponse, end: boolean, first: Buffer | undefined): Promise<void> {
    const free: Buffer[] = [];
    const giveBack = (buffer: Buffer) => () => {
      if (free.length < DIRECT_BUFFERS) free.push(buffer);
    };
    try {
      if (first !== undefined && !(await this.#write(res, first))) return;
      if (this.#pendingRead) {
        // A read Readable started before the pipe lands in its buffer first; read() hands it
        // to any listener itself. Fresh Buffers, never pooled.
        await this.#pendingRead;
        const buffered = this.read() as Buffer | null;
        if (buffered !== null && !(await this.#write(res, buffered, undefined, false))) return;
      }
      while (this.#position < this.#end) {
        // A buffer is read into again only after the socket took its bytes; while all are
        // still out (a write callback that comes late), a fresh one is used once instead.
        const buffer = free.pop() ?? Buffer.allocUnsafeSlow(this.#chunkSize);
        const chunk = await this.#readInto(buffer);
        if (chunk === undefined) return;
        if (!(await this.#write(res, chunk, giveBack(buffer)))) return;
      }
      if (end) res.end();
      this.push(null);
      // Nobody reads this stream: resuming lets it emit 'end' (which a pipeline waits for)
      // and close its descriptor.
      this.resume();
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  /**
   * Writes `chunk`, waiting for the response to drain when it says so. `false` when the body
   * or the response is gone meanwhile. `taken` runs once the socket no longer needs the bytes.
   */
  async #write(
    res: ServerResponse,
    chunk: Buffer,
    taken?: () => void,
    announce = true,
  ): Promise<boolean> {
    if (this.destroyed || res.destroyed) return false;
    const ready = res.write(chunk, (err) => {
      if (!err) taken?.();
    });
    this.emit(BYTES_WRITTEN, chunk.length);
    if (this.#shared && announce) this.emit('data', Buffer.from(chunk));
    return ready || this.#whenDrained(res);
  }

  #whenDrained(res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        this.off('close', done);
        resolve(!this.destroyed && !res.destroyed);
      };
      res.on('drain', done);
      res.on('close', done);
      this.on('close', done);
    });
  }

  /** Reads the next bytes into `buffer`: the chunk read, or `undefined` once destroyed. */
  #readInto(buffer: Buffer): Promise<Buffer | undefined> {
    const fd = this.#fd;
    if (fd === undefined) return Promise.resolve(undefined);
    const wanted = Math.min(buffer.length, this.#end - this.#position);
    this.#reading = true;
    return new Promise((resolve, reject) => {
      read(fd, buffer, 0, wanted, this.#position, (err, bytesRead) => {
        this.#reading = false;
        const afterRead = this.#afterRead;
        if (afterRead) {
          this.#afterRead = undefined;
          afterRead();
          resolve(undefined);
          return;
        }
        if (err) return reject(err);
        if (bytesRead === 0) return reject(this.#endedEarly());
        this.#position += bytesRead;
        resolve(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      });
    });
  }

  #endedEarly(): StorageChangedError {
    const sent = this.#length - (this.#end - this.#position);
    const detail = `ended after ${sent} of the ${this.#length} bytes declared`;
    return new StorageChangedError(DRIVER, this.#name, { cause: new Error(detail) });
  }
}
