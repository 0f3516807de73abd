import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const APP = fileURLToPath(new URL('./support/debug-app.ts', import.meta.url));

describe('debug output (DEBUG=koa-downloadview:*, as Koa and @koa/router)', () => {
  it('says which backend served a download, and why a file no rule covers was streamed', async () => {
    const env = { ...process.env, DEBUG: 'koa-downloadview:*', NODE_V8_COVERAGE: '' };
    const { stderr } = await run(process.execPath, ['--import', 'tsx', APP], { env });
    expect(stderr).to.match(
      /no rule matches hello\.txt \(url \/elsewhere\/hello\.txt, path \/.*\/hello\.txt\): streamed/,
    );
    expect(stderr).to.match(/GET \/elsewhere hello\.txt via stream \(status 200\)/);
    expect(stderr).to.match(/hello\.txt matched rule #1 \(sourceUrl \/media\/ → \/p\/\) for nginx/);
    expect(stderr).to.match(
      /GET \/media hello\.txt via nginx \(X-Accel-Redirect: \/p\/hello\.txt\)/,
    );
  });

  it('says why a backend declined a file (a path that cannot travel in the header)', async () => {
    const env = { ...process.env, DEBUG: 'koa-downloadview:*', NODE_V8_COVERAGE: '' };
    const { stderr } = await run(process.execPath, ['--import', 'tsx', APP, 'declined'], { env });
    expect(stderr).to.match(
      /koa-downloadview:caddy the path of bad\?name\.txt cannot travel to Caddy/,
    );
    expect(stderr).to.match(/which declined it/);
    expect(stderr).to.match(/GET \/ bad\?name\.txt via stream \(status 200\)/);
  });

  it('prints nothing without DEBUG', async () => {
    const env = { ...process.env, DEBUG: '', NODE_DEBUG: '', NODE_V8_COVERAGE: '' };
    const { stderr } = await run(process.execPath, ['--import', 'tsx', APP], { env });
    expect(stderr).to.equal('');
  });
});
