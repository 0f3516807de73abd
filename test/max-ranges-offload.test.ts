import { expect } from 'chai';
import { downloadview, storageDownload } from '../src/index.ts';
import { MemoryStorage } from '../storages/memory.ts';
import { request } from './support/http.ts';
import { serve } from './support/koa.ts';

describe('maxRanges holds for offloaded files too', () => {
  const storage = new MemoryStorage({ baseUrl: '/m/', files: { 'a.txt': '0123456789' } });
  const rules = [{ sourceUrl: '/m/', destinationUrl: '/protected/' }];

  for (const [ranges, offloaded] of [
    ['bytes=0-0,2-2', true],
    ['bytes=0-0,2-2,4-4', false],
    [`bytes=${Array.from({ length: 1000 }, (_, i) => `${i % 10}-${i % 10}`).join(',')}`, false],
  ] as const) {
    it(`${ranges.split(',').length} ranges with maxRanges 2: ${offloaded ? 'offloaded' : 'streamed whole by the app (200)'}`, async () => {
      const server = await serve(
        downloadview({ backend: 'nginx', rules, maxRanges: 2 }),
        storageDownload({ storage, path: 'a.txt' }),
      );
      try {
        const res = await request(server.url + '/', { headers: { Range: ranges } });
        if (offloaded) {
          expect(res.headers['x-accel-redirect']).to.equal('/protected/a.txt');
        } else {
          expect(res.headers['x-accel-redirect']).to.equal(undefined);
          expect([res.status, res.body.toString()]).to.deep.equal([200, '0123456789']);
        }
      } finally {
        await server.close();
      }
    });
  }
});
