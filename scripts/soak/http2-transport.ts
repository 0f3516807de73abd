import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { BodyReader, flatHeaders } from './body-reader.ts';
import {
  STALL_MS,
  stalled,
  type Received,
  type SoakExchange,
  type Transport,
} from './transport.ts';

export interface Http2TransportOptions {
  port: number;
  prefix: string;
  /** TLS connections; the virtual clients share them, stream after stream, round robin. */
  sessions: number;
  /** The server's self-signed certificate, trusted as the only authority. */
  ca: string;
}

const STREAM_WINDOW = 6 * 1024 * 1024;
const CONNECTION_WINDOW = 15 * 1024 * 1024;

/** HTTP/2 over TLS with node:http2, as browsers speak it. */
export function http2Transport(options: Http2TransportOptions): Transport {
  const { port, prefix, ca } = options;
  const pool: (ClientHttp2Session | undefined)[] = Array.from({ length: options.sessions });
  let turn = 0;
  const session = (): ClientHttp2Session => {
    const index = turn++ % pool.length;
    const current = pool[index];
    if (current && !current.closed && !current.destroyed) return current;
    // Chrome's windows (6 MiB a stream, 15 MiB the connection). Node's default of 64 KiB for
    // the whole connection would let one paused slow reader stall every stream beside it.
    const fresh = connect(`https://127.0.0.1:${port}`, {
      ca,
      settings: { initialWindowSize: STREAM_WINDOW },
    });
    fresh.once('connect', () => fresh.setLocalWindowSize(CONNECTION_WINDOW));
    // A session that fails fails its streams, which report it; nothing more to do here.
    fresh.on('error', () => undefined);
    pool[index] = fresh;
    return fresh;
  };
  return {
    name: 'http2-tls',
    prefix,
    send: (exchange) => send(session(), exchange),
    close: async () => {
      for (const open of pool) open?.destroy();
      pool.fill(undefined);
    },
  };
}

function send(session: ClientHttp2Session, exchange: SoakExchange): Promise<Received> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': exchange.method,
      ':path': exchange.path,
      ...exchange.headers,
    });
    const reader = new BodyReader(exchange.keepBody ?? false);
    let answer: IncomingHttpHeaders | undefined;
    let hungUp = false;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      const status = Number(answer?.[':status'] ?? 0);
      resolve({ status, headers: flatHeaders(answer ?? {}), hungUp, ...reader.result() });
    };
    const hangUp = () => {
      hungUp = true;
      stream.close(constants.NGHTTP2_CANCEL);
      finish();
    };
    stream.on('error', (error) => {
      if (hungUp || settled) return;
      settled = true;
      reject(error);
    });
    stream.on('response', (headers) => {
      answer = headers;
      if (exchange.hangUpAfter === 0) hangUp();
    });
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      reader.add(chunk);
      if (exchange.hangUpAfter !== undefined && reader.length >= exchange.hangUpAfter) hangUp();
      else if (exchange.pauseMs !== undefined && reader.length === chunk.length) {
        stream.pause();
        setTimeout(() => stream.resume(), exchange.pauseMs);
      }
    });
    stream.on('close', () => {
      // Reset by the server (not by us): what arrived is reported, and its hash tells.
      finish();
    });
    stream.setTimeout(STALL_MS, () => stream.destroy(stalled(reader.length)));
    if (exchange.hangUpAtOnce) setImmediate(hangUp);
    stream.end();
  });
}
