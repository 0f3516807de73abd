import { Readable } from 'node:stream';
import type { StorageContent } from './storage.ts';

/**
 * Any `StorageContent` as a byte stream, for drivers that write streams. Strings are UTF-8.
 *
 * @example
 * await pipeline(contentStream(content), createWriteStream(path));
 */
export function contentStream(content: StorageContent): Readable {
  if (typeof content === 'string' || content instanceof Uint8Array) {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    return Readable.from([bytes], { objectMode: false });
  }
  if (content instanceof Readable) return content;
  return Readable.from(content, { objectMode: false });
}

/**
 * Any `StorageContent` collected into one Buffer, for drivers that hold bytes in memory.
 *
 * @example
 * const bytes = await contentBytes(content);
 */
export async function contentBytes(content: StorageContent): Promise<Buffer> {
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  if (content instanceof Uint8Array) return Buffer.from(content);
  const chunks: Buffer[] = [];
  for await (const chunk of contentStream(content)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
