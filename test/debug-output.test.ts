import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const APP = fileURLToPath(new URL('./support/debug-app.ts', import.meta.url));

describe('debug output (NODE_DEBUG=koa-downloadview:*)', () => {
  it('says which backend served a download, and why a file no rule covers was streamed', async () => {
    const env = { ...process.env, NODE_DEBUG: 'koa-downloadview:*', NODE_V8_COVERAGE: '' };
    const { stderr } = await run(process.execPath, ['--import', 'tsx', APP], { env });
    expect(stderr).to.match(
      /no rule matches hello\.txt \(url \/elsewhere\/hello\.txt, path \/.*\/hello\.txt\): streamed/,
    );
    expect(stderr).to.match(/GET hello\.txt via stream/);
    expect(stderr).to.match(/GET hello\.txt via nginx/);
  });
});
