import { expect } from 'chai';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadview, storageDownload } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { tempTree } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { serve } from '../support/koa.ts';

describe("etag: 'content' (a hash of the bytes, cached per file version)", () => {
  it('a rewrite that keeps size and mtime (touch -d, rsync -t) gets a new tag: no stale resume', async () => {
    const tree = await tempTree({ 't.txt': 'AAAAAAAAAA\n' });
    const path = join(tree.dir, 't.txt');
    const mtime = new Date('2026-01-01T00:00:00Z');
    await utimes(path, mtime, mtime);
    const storage = new FileSystemStorage({ location: tree.dir });
    const server = await serve(
      downloadview({ etag: 'content' }),
      storageDownload({ storage, path: 't.txt' }),
    );
    try {
      const before = await request(server.url + '/');
      await writeFile(path, 'BBBBBBBBBB\n');
      await utimes(path, mtime, mtime);
      const after = await request(server.url + '/');
      expect(after.headers['last-modified']).to.equal(before.headers['last-modified']);
      expect(after.headers['etag']).to.not.equal(before.headers['etag']);
      // A resume holding the old tag gets the whole new file, never old prefix + new suffix.
      const resumed = await request(server.url + '/', {
        headers: { Range: 'bytes=5-', 'If-Range': String(before.headers['etag']) },
      });
      expect([resumed.status, resumed.body.toString()]).to.deep.equal([200, 'BBBBBBBBBB\n']);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });
});
