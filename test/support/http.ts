import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';

/** A raw HTTP answer: status, headers and the exact bytes. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** True when the connection ended before the announced body was complete. */
  aborted: boolean;
}

/**
 * One HTTP request with Node's own client, so that tests see exactly what went over the wire
 * (no decompression, no header folding) and can tell a cut connection from a complete body.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; agent?: Agent } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const { method = 'GET', headers, agent } = options;
    const req = httpRequest(url, { method, headers, ...(agent && { agent }) });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => {
        const body = Buffer.concat(chunks);
        aborted ||= !res.complete;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, aborted });
      });
    });
    req.end();
  });
}

/** Splits a multipart/byteranges body into its parts (headers and bytes), for comparisons. */
export function parseMultipart(
  body: Buffer,
  contentType: string,
): { headers: Record<string, string>; body: Buffer }[] {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const afterDelimiter = at + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', afterDelimiter);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd);
    const headers = Object.fromEntries(
      body
        .subarray(afterDelimiter + 2, headEnd)
        .toString('latin1')
        .split('\r\n')
        .map((line) => line.split(/:\s*/, 2).map((s) => s.trim()) as [string, string])
        .map(([k, v]) => [k.toLowerCase(), v]),
    );
    parts.push({ headers, body: body.subarray(headEnd + 4, next) });
    at = next + 2;
  }
  return parts;
}

/** Open file descriptors of this process (Linux), to prove none leak. */
export async function openDescriptorCount(): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir('/proc/self/fd')).length;
}
