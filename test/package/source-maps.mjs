// Run by check-package.sh with `node --enable-source-maps`, inside the project that installed
// the packed tarball. The package ships compiled JavaScript with source maps whose sources
// (src/*.ts, storages/*.ts) are not in the tarball, so every map must carry its sources inline;
// and a stack trace from the library must resolve to a TypeScript line that is really there.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { downloadview } from 'koa-downloadview';

const packageDir = dirname(createRequire(import.meta.url).resolve('koa-downloadview/package.json'));

/** Every source map of the package, by the absolute path of each source it maps to. */
function inlineSources() {
  const byPath = new Map();
  const maps = readdirSync(packageDir, { recursive: true }).filter((f) => f.endsWith('.js.map'));
  assert.ok(maps.length > 0, 'the package ships no source map');
  for (const file of maps) {
    const map = JSON.parse(readFileSync(join(packageDir, file), 'utf8'));
    const where = `${file}: sourcesContent`;
    assert.ok(Array.isArray(map.sourcesContent), `${where} is missing`);
    assert.equal(map.sourcesContent.length, map.sources.length, `${where} does not match sources`);
    map.sources.forEach((source, i) => {
      assert.equal(typeof map.sourcesContent[i], 'string', `${where}[${i}] is not inlined`);
      const base = resolve(packageDir, dirname(file), map.sourceRoot ?? '');
      byPath.set(resolve(base, source), map.sourcesContent[i]);
    });
  }
  return byPath;
}

/** The library's own frames of a stack trace, as Node mapped them: `{ path, line }`. */
function libraryFrames(stack) {
  const frames = [...stack.matchAll(/\(([^()]+\.ts):(\d+):(\d+)\)/g)];
  return frames
    .map(([, path, line]) => ({ path, line: Number(line) }))
    .filter(({ path }) => path.startsWith(packageDir));
}

const sources = inlineSources();
let error;
try {
  downloadview({ notAnOption: true });
} catch (err) {
  error = err;
}
assert.ok(error instanceof Error, 'downloadview() accepted an unknown option');
const frames = libraryFrames(error.stack);
assert.ok(frames.length > 0, `no frame of the stack maps to a TypeScript source:\n${error.stack}`);
for (const { path, line } of frames) {
  const text = sources.get(path);
  assert.ok(text !== undefined, `${relative(packageDir, path)} is in no source map`);
  const code = text.split('\n')[line - 1];
  assert.ok(code?.trim(), `${relative(packageDir, path)}:${line} is not a line of its source`);
}
const [top] = frames;
const topLine = sources.get(top.path).split('\n')[top.line - 1];
assert.match(topLine, /throw|Error/, `the top frame points to ${JSON.stringify(topLine)}`);
console.log(
  `source maps: ${sources.size} sources inlined; ${relative(packageDir, top.path)}:${top.line} ` +
    `reads ${JSON.stringify(topLine.trim())}`,
);
