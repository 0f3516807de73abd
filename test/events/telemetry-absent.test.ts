import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A module hook that makes `@opentelemetry/api` unresolvable, as in an app that never
 * installed it: Node resolves packages from the importing file's directory upwards, so a
 * script in an empty directory still finds the project's copy through the library's own
 * imports. Each refusal is told on stderr, so the test knows the library did try.
 */
const BLOCKING_HOOK = `
export async function resolve(specifier, context, next) {
  if (specifier === '@opentelemetry/api' || specifier.startsWith('@opentelemetry/api/')) {
    process.stderr.write('blocked ' + specifier + '\\n');
    const err = new Error("Cannot find package '" + specifier + "'");
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}
`;

const REGISTER = `
import { register } from 'node:module';
register('./block-otel.mjs', import.meta.url);
`;

/** Serves one download with telemetry on (the default) and an onDownload hook. */
function appScript(root: URL): string {
  return `
import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(new URL('package.json', root).href)});
const Koa = require('koa');
const { downloadview, VirtualFile } = await import(${JSON.stringify(new URL('src/index.ts', root).href)});
const events = [];
const errors = [];
const app = new Koa();
app.on('error', (err) => errors.push(String(err)));
app.use(downloadview({ onDownload: (event) => events.push(event.type) }));
app.use((ctx) => { ctx.body = new VirtualFile('hello', { name: 'a.txt' }); });
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const res = await fetch('http://127.0.0.1:' + server.address().port + '/');
const body = await res.text();
await new Promise((resolve) => setTimeout(resolve, 50));
server.close();
console.log(JSON.stringify({ status: res.status, body, events, errors }));
`;
}

function withoutCoverage(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // Empty, not absent: Node copies its own NODE_V8_COVERAGE into a child's env that lacks it.
  return { ...env, NODE_V8_COVERAGE: '' };
}

describe('download events: OpenTelemetry API not installed', () => {
  it('downloads and hooks work, no error, when @opentelemetry/api cannot be resolved', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kdv-no-otel-'));
    try {
      const root = new URL('../../', import.meta.url);
      await writeFile(join(dir, 'block-otel.mjs'), BLOCKING_HOOK);
      await writeFile(join(dir, 'register.mjs'), REGISTER);
      await writeFile(join(dir, 'app.mjs'), appScript(root));
      // The tsx loader the project itself runs its tests with, by its absolute URL.
      const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
      const register = pathToFileURL(join(dir, 'register.mjs')).href;
      // Registered after tsx, the blocking hook runs first (the last registered hook does).
      const { stdout, stderr } = await run(
        process.execPath,
        ['--import', tsx, '--import', register, join(dir, 'app.mjs')],
        // Without NODE_V8_COVERAGE: under c8, the child's coverage of the same files (compiled
        // by its own tsx) would be merged with this process's and mislead the report.
        { cwd: dir, timeout: 15000, env: withoutCoverage(process.env) },
      );
      expect(stderr).to.include('blocked @opentelemetry/api');
      const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<
        string,
        unknown
      >;
      expect(result).to.deep.equal({
        status: 200,
        body: 'hello',
        events: ['start', 'complete'],
        errors: [],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
