/*
 * Prints what a FileSystemStorage answers when it finds no /proc/self/fd, as on macOS and the
 * BSDs: `tsx without-proc.ts [--keep-proc] <root> <name>...`, as JSON `{ answers, procReads }`
 * where `procReads` counts readlinks of /proc/self/fd (with --keep-proc /proc is left visible,
 * to show that the count works). Run in a child process: the storage module must load after
 * the patch.
 */
import type * as NodeFs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';

const PROC_FD = '/proc/self/fd';
const args = process.argv.slice(2);
const keepProc = args[0] === '--keep-proc';
const [root, ...names] = keepProc ? args.slice(1) : args;

const fs = createRequire(import.meta.url)('node:fs') as typeof NodeFs;
const { existsSync, readlinkSync } = fs;
let procReads = 0;
Object.assign(fs, {
  existsSync: (path: string) => (keepProc || path !== PROC_FD) && existsSync(path),
  readlinkSync: (path: string) => {
    if (path.startsWith(`${PROC_FD}/`)) procReads++;
    return readlinkSync(path);
  },
});
syncBuiltinESMExports();

const { FileSystemStorage } = await import('../../../storages/filesystem.ts');
const { answers } = await import('./answers.ts');
const storage = new FileSystemStorage({ location: root! });
const table = await answers(storage, names);
process.stdout.write(JSON.stringify({ answers: table, procReads }));
