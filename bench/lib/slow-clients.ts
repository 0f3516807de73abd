import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SlowClientsOptions {
  clients: number;
  /** Bytes per second each client reads at most. */
  bytesPerSecond: number;
  seconds: number;
}

/**
 * Opens `clients` downloads of one URL that read at a throttled rate for `seconds`, then
 * hang up. A server without backpressure would keep reading the file into memory for them;
 * this is how its RSS is made to show it. Returns the response bytes the clients received.
 */
export async function slowClients(url: string, options: SlowClientsOptions): Promise<number> {
  const { hostname, port, pathname } = new URL(url);
  const tickMs = 100;
  const perTick = Math.max(1, Math.round((options.bytesPerSecond * tickMs) / 1000));
  let received = 0;
  const clients = Array.from({ length: options.clients }, () => {
    const socket = connect(Number(port), hostname);
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
    socket.on('error', () => undefined);
    let budget = perTick;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      budget -= chunk.length;
      if (budget <= 0) socket.pause();
    });
    const refill = () => {
      budget = perTick;
      socket.resume();
    };
    return { socket, refill };
  });
  const end = Date.now() + options.seconds * 1000;
  while (Date.now() < end) {
    await sleep(tickMs);
    for (const client of clients) client.refill();
  }
  for (const client of clients) client.socket.destroy();
  return received;
}
