import { connect, createServer, type Socket } from 'node:net';

/** What the relay does to the bytes a server sends on each connection. */
export type RelayFault =
  | { readonly kind: 'pass' }
  | { readonly kind: 'resets after'; readonly bytes: number }
  | { readonly kind: 'stalls after'; readonly bytes: number };

/** A TCP relay in front of a real server that breaks its answers on demand. */
export interface FaultRelay {
  readonly port: number;
  fault: RelayFault;
  /** Cuts every connection, stalled ones included: a storage that answers at last, too late. */
  cut(): void;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a relay to `targetPort` on loopback. Each connection forwards the server's bytes until
 * `fault` says otherwise: then the client gets a TCP reset, or nothing more while the
 * connection stays open. Counting per connection lets the small metadata answers through and
 * breaks only a body longer than `bytes`.
 */
export async function startFaultRelay(targetPort: number): Promise<FaultRelay> {
  const sockets = new Set<Socket>();
  const keep = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  const relay: FaultRelay = {
    port: 0,
    fault: { kind: 'pass' },
    cut: () => sockets.forEach((socket) => socket.destroy()),
    close: () =>
      new Promise((resolve) => {
        relay.cut();
        server.close(() => resolve());
      }),
  };
  const server = createServer((client) => {
    keep(client);
    const upstream = keep(connect(targetPort, '127.0.0.1'));
    const fault = relay.fault;
    let sent = 0;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (fault.kind === 'pass' || sent + chunk.length <= fault.bytes) {
        sent += chunk.length;
        client.write(chunk);
        return;
      }
      const head = chunk.subarray(0, Math.max(0, fault.bytes - sent));
      sent = fault.bytes;
      client.write(head);
      upstream.pause();
      if (fault.kind === 'resets after') {
        upstream.destroy();
        client.resetAndDestroy();
      }
    });
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(relay, { port: (server.address() as { port: number }).port });
}
