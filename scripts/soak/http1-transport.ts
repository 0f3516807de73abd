import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { BodyReader, flatHeaders } from './body-reader.ts';
import {
  STALL_MS,
  stalled,
  type Received,
  type SoakExchange,
  type Transport,
  type TransportName,
} from './transport.ts';

export interface Http1TransportOptions {
  name: TransportName;
  port: number;
  prefix: string;
  /** Kept-alive connections at most: one per virtual client, so none waits for a socket. */
  maxSockets: number;
  /** The certificate to trust, for TLS (the server's self-signed one). */
  ca?: string;
}

/** HTTP/1.1 with Node's own client and a keep-alive agent, in cleartext or over TLS. */
export function http1Transport(options: Http1TransportOptions): Transport {
  const { name, prefix, maxSockets, ca } = options;
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
  const agent = ca ? new HttpsAgent({ ...agentOptions, ca }) : new HttpAgent(agentOptions);
  const connection: Connection = { port: options.port, agent, ca, used: new WeakSet() };
  return {
    name,
    prefix,
    send: (exchange) => send(connection, exchange, true),
    close: async () => agent.destroy(),
  };
}

interface Connection {
  port: number;
  agent: HttpAgent;
  ca: string | undefined;
  /** Sockets that carried a request already: a hang-up on one of them is the keep-alive race. */
  used: WeakSet<Socket>;
}

function send(
  connection: Connection,
  exchange: SoakExchange,
  mayRetry: boolean,
): Promise<Received> {
  const { port, agent, ca, used } = connection;
  const { method, path, headers } = exchange;
  const request = ca ? httpsRequest : httpRequest;
  // The retry goes out on a connection of its own: the pool may hold more closed ones.
  const pooled = mayRetry ? { agent } : { agent: false as const, ...(ca && { ca }) };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, ...pooled });
    const reader = new BodyReader(exchange.keepBody ?? false);
    let answer: IncomingMessage | undefined;
    let hungUp = false;
    let settled = false;
    let reused = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      const received = answer ? flatHeaders(answer.headers) : {};
      resolve({ status: answer?.statusCode ?? 0, headers: received, hungUp, ...reader.result() });
    };
    const hangUp = () => {
      hungUp = true;
      req.destroy();
      finish();
    };
    req.on('socket', (socket) => {
      reused = used.has(socket);
      used.add(socket);
    });
    req.on('error', (error) => {
      if (hungUp || settled) return;
      settled = true;
      if (!(mayRetry && reused && !answer)) return reject(error);
      resolve(send(connection, exchange, false).then((again) => ({ ...again, retried: true })));
    });
    req.on('response', (res) => {
      answer = res;
      if (exchange.hangUpAfter === 0) return hangUp();
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        reader.add(chunk);
        if (exchange.hangUpAfter !== undefined && reader.length >= exchange.hangUpAfter) hangUp();
        else if (exchange.pauseMs !== undefined && reader.length === chunk.length) {
          res.pause();
          setTimeout(() => res.resume(), exchange.pauseMs);
        }
      });
      // A body cut short by the server is not an error here: its hash tells.
      res.on('error', () => undefined);
      res.on('close', finish);
    });
    // Idle time on the socket: a paused slow reader (at most 1.5 s) stays far below it.
    req.setTimeout(STALL_MS, () => req.destroy(stalled(reader.length)));
    if (exchange.hangUpAtOnce) setImmediate(hangUp);
    req.end();
  });
}
