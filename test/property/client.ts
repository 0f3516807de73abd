/**
 * Raw HTTP/1.1 requests over a few kept-alive connections, so that thousands of generated
 * requests cost no connection set-up each. Node's client: no decompression, no header folding.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/** A complete answer, or the sign it was cut short. */
export interface WireResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** True when the connection ended before the announced body was complete. */
  readonly aborted: boolean;
}

/** A keep-alive client with at most `sockets` connections. */
export function keepAliveClient(sockets = 4) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  return {
    send(url: string, method: string, headers: Readonly<Record<string, string>>) {
      return send(agent, url, method, headers);
    },
    close: () => agent.destroy(),
  };
}

function send(
  agent: Agent,
  url: string,
  method: string,
  headers: Readonly<Record<string, string>>,
): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => {
        aborted ||= !res.complete;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          aborted,
        });
      });
    });
    req.end();
  });
}
