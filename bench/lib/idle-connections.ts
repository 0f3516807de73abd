import { connect, type Socket } from 'node:net';

/** Keep-alive connections that each got one answer and now sit idle. */
export interface IdleConnections {
  /** How many are still open: the server must not have closed any while they were counted. */
  open(): number;
  close(): void;
}

/**
 * Opens `count` connections to `url`, a few hundred at a time (all at once would overflow the
 * server's listen backlog, and the SYNs past it are only retried a second later), sends one
 * keep-alive GET on each, reads the whole answer, and leaves them open, idle: what a server
 * holds per client between requests.
 */
export async function openIdleConnections(
  url: string,
  count: number,
  batch = 250,
): Promise<IdleConnections> {
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  try {
    for (let opened = 0; opened < count; opened += batch) {
      const size = Math.min(batch, count - opened);
      const next = await Promise.all(Array.from({ length: size }, () => oneRequest(url)));
      for (const socket of next) {
        sockets.push(socket);
        socket.once('close', () => closed.add(socket));
      }
    }
  } catch (error) {
    for (const socket of sockets) socket.destroy();
    throw error;
  }
  return {
    open: () => sockets.length - closed.size,
    close: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** One GET over a new connection; resolves with the socket once the whole answer is read. */
function oneRequest(url: string): Promise<Socket> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = received.subarray(0, headEnd).toString('latin1');
      const length = /^content-length:\s*(\d+)/im.exec(head)?.[1];
      if (!head.startsWith('HTTP/1.1 200 ') || length === undefined) {
        fail(new Error(`${url} answered ${head.split('\r\n')[0]} without a length`));
      } else if (received.length - headEnd - 4 >= Number(length)) {
        socket.off('data', onData).off('error', fail).off('close', early);
        // Errors after the answer (a reset at teardown) are the server's to count, not ours.
        socket.on('error', () => undefined);
        resolve(socket);
      }
    };
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    const early = () => fail(new Error(`${url} closed the connection before answering`));
    socket.on('data', onData).on('error', fail).once('close', early);
  });
}
