import { expect } from 'chai';
import Koa from 'koa';
import {
  downloadview,
  StorageFile,
  StorageUnavailableError,
  toHttpError,
  type Storage,
} from '../src/index.ts';
import { request } from './support/http.ts';

describe('errors', () => {
  it("a 5xx keeps its cause in the stack Koa's default onerror logs, never in the answer", async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
      code: 'ECONNREFUSED',
    });
    const storage: Storage = {
      driver: 'remote',
      stat: async () => {
        throw new StorageUnavailableError('remote', 'service unreachable', { cause: refused });
      },
      open: async () => {
        throw new Error('not reached');
      },
    };
    const app = new Koa();
    app.use(downloadview());
    app.use((ctx) => {
      ctx.body = new StorageFile(storage, 'a.txt');
    });
    const logged: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args.join(' '));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await request(`http://127.0.0.1:${port}/`);
      expect(res.status).to.equal(503);
      expect(res.body.toString()).to.equal('Service Unavailable');
      const log = logged.join('\n');
      expect(log).to.include('ServiceUnavailableError');
      expect(log).to.include(
        'Caused by: StorageUnavailableError: remote storage: service unreachable',
      );
      expect(log).to.include('Caused by: Error: connect ECONNREFUSED 127.0.0.1:9');
    } finally {
      console.error = original;
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a 4xx is answered with its message and no cause chain (not logged by Koa)', () => {
    const err = toHttpError(new StorageUnavailableError('x', 'y'));
    expect(err.status).to.equal(503);
    const cyclic: Error & { cause?: unknown } = new Error('loop');
    cyclic.cause = cyclic;
    // A cyclic cause chain is cut after a few links, never followed forever.
    expect(toHttpError(cyclic).stack!.split('Caused by:').length).to.equal(6);
  });
});
