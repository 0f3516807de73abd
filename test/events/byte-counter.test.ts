import { expect } from 'chai';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countBodyBytes, type ByteCount } from '../../src/events/byte-counter.ts';

/** Answers one request with `respond`, and resolves the count once the response closed. */
async function counted(respond: (res: ServerResponse) => void): Promise<number> {
  let count: ByteCount | undefined;
  const server = createServer();
  const closed = new Promise<void>((resolve) => {
    server.once('request', (_req, res: ServerResponse) => {
      count = countBodyBytes(res);
      res.once('close', () => resolve());
      respond(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    const req = request({ port, host: '127.0.0.1' }, (res) => {
      res.resume();
      res.on('close', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
  });
  await closed;
  server.close();
  return count?.bytes ?? -1;
}

describe('download events: countBodyBytes', () => {
  it('counts strings in bytes of their encoding, and Buffers, through write and end', async () => {
    const bytes = await counted((res) => {
      res.write('héllo', 'utf8'); // 6 bytes
      res.write(Buffer.from('abc'));
      res.end('ff', 'hex'); // 1 byte
    });
    expect(bytes).to.equal(10);
  });

  it('counts nothing written after the connection is gone', async () => {
    const bytes = await counted((res) => {
      res.write(Buffer.alloc(5));
      res.destroy();
      res.write(Buffer.alloc(100));
    });
    expect(bytes).to.equal(5);
  });
});
