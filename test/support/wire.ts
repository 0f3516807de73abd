import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { testCertificate } from './tls.ts';

const HTTP1_OVER_TLS = () => ({ ca: testCertificate().cert, ALPNProtocols: ['http/1.1'] });

// A client that sees the wire as it is: the bytes a server sent, whether it closed the
// connection, and the responses a keep-alive client would read from them. Node's own client
// hides exactly what these tests look for (bytes past a body, a body cut short, a close).

/** What one connection carried: every byte the server sent, and how the connection ended. */
export interface Wire {
  bytes: Buffer;
  /** The server closed the connection, rather than leaving it open for the next request. */
  closed: boolean;
  /** Milliseconds from the request to the close, or to the end of waiting. */
  ms: number;
}

/**
 * Sends `raw` (one request, or several pipelined) on one connection and collects everything
 * the server sends, until it closes the connection or stays silent for `quietMs`. `slowly`,
 * when given, runs once the first bytes arrived, with the socket paused: a slow client.
 */
export function exchange(
  url: string,
  raw: string,
  { quietMs = 300, slowly }: { quietMs?: number; slowly?: () => Promise<void> } = {},
): Promise<Wire> {
  const { hostname, port, protocol } = new URL(url);
  // A TLS-only app (TRANSPORT=h2, allowHTTP1) is spoken to in HTTP/1.1 over TLS.
  const socket =
    protocol === 'https:'
      ? tlsConnect({ port: Number(port), host: hostname, ...HTTP1_OVER_TLS() })
      : connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  const started = Date.now();
  let quiet: NodeJS.Timeout | undefined;
  let ended = false;
  return new Promise((resolve) => {
    const done = (closed: boolean) => {
      if (ended) return;
      ended = true;
      clearTimeout(quiet);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed, ms: Date.now() - started });
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => done(false), quietMs);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (slowly && chunks.length === 1) {
        socket.pause();
        clearTimeout(quiet);
        void slowly().then(() => (socket.resume(), rearm()));
      } else if (!socket.isPaused()) rearm();
    });
    socket.once('close', () => done(true));
    socket.once('error', () => done(true));
    socket.write(raw, rearm);
  });
}

/** A GET request as it goes on the wire, kept alive (HTTP/1.1's default). */
export function get(path: string, headers: Record<string, string> = {}): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `GET ${path} HTTP/1.1\r\nHost: test\r\n${lines.join('')}\r\n`;
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** All of the announced Content-Length arrived. */
  complete: boolean;
}

/**
 * Reads responses back to back from what a connection carried, each body exactly as long as
 * its Content-Length: what a keep-alive client does. `rest` is whatever follows the last
 * complete response (bytes injected past a body show up as garbage there, or as a response).
 */
export function parseResponses(bytes: Buffer): { responses: WireResponse[]; rest: Buffer } {
  const responses: WireResponse[] = [];
  let rest = bytes;
  while (rest.subarray(0, 9).toString('latin1') === 'HTTP/1.1 ') {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) break;
    const [statusLine = '', ...lines] = rest.subarray(0, headEnd).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(
      lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    const length = Number(headers['content-length']);
    const body = rest.subarray(headEnd + 4, headEnd + 4 + length);
    const complete = body.length === length;
    responses.push({ status: Number(statusLine.split(' ')[1]), headers, body, complete });
    rest = rest.subarray(headEnd + 4 + body.length);
    if (!complete) break;
  }
  return { responses, rest };
}
