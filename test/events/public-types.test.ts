import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/**
 * `@opentelemetry/api` is an optional peer: an app without it must still type-check against
 * the package's declarations. The declarations reachable from the events' public entry must
 * therefore never import it, however the code is rearranged.
 */
describe('download events: public declarations', () => {
  it('no declaration reachable from src/events/index.ts imports @opentelemetry/api', () => {
    const entry = fileURLToPath(new URL('../../src/events/index.ts', import.meta.url));
    const declarations = emitDeclarations(entry);
    const seen = new Set<string>();
    const queue = [entry.replace(/\.ts$/, '.d.ts')];
    while (queue.length > 0) {
      const file = queue.shift() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = declarations.get(file);
      if (text === undefined) throw new Error(`no declaration emitted for ${file}`);
      expect(text, file).not.to.match(/['"]@opentelemetry\/api['"]/);
      for (const [, specifier] of text.matchAll(/from '(\.[^']+)'/g)) {
        queue.push(resolve(dirname(file), (specifier as string).replace(/\.ts$/, '.d.ts')));
      }
    }
    expect(seen.size).to.be.above(3);
  });
});

/** Every declaration file tsc emits for the program rooted at `entry`, by path. */
function emitDeclarations(entry: string): Map<string, string> {
  const options: ts.CompilerOptions = {
    declaration: true,
    emitDeclarationOnly: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    allowImportingTsExtensions: true,
    strict: true,
    skipLibCheck: true,
    types: ['node'],
  };
  const emitted = new Map<string, string>();
  ts.createProgram([entry], options).emit(undefined, (name, text) => emitted.set(name, text));
  return emitted;
}
