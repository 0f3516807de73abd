import { createHash } from 'node:crypto';

/** Hashes a body as it arrives, and keeps its bytes only when asked (multipart bodies). */
export class BodyReader {
  #hash = createHash('sha256');
  #chunks: Buffer[] | undefined;
  #done = false;
  length = 0;

  constructor(keep: boolean) {
    if (keep) this.#chunks = [];
  }

  /** Bytes that arrive after the client hung up, or after `result()`, are not the answer's. */
  add(chunk: Buffer): void {
    if (this.#done) return;
    this.#hash.update(chunk);
    this.#chunks?.push(chunk);
    this.length += chunk.length;
  }

  result(): { bodyLength: number; bodySha256: string; body?: Buffer } {
    this.#done = true;
    const bodySha256 = this.#hash.digest('hex');
    const body = this.#chunks && Buffer.concat(this.#chunks);
    return { bodyLength: this.length, bodySha256, ...(body && { body }) };
  }
}

/** Lower-case header names, repeated values joined: one shape for HTTP/1.1 and HTTP/2. */
export function flatHeaders(
  headers: Record<string, string | string[] | number | undefined>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return flat;
}
