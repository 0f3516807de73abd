import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Makes sure this process, and the servers and wrk it starts after this (they inherit it), may
 * hold `needed` descriptors: the connections sweep opens 10,000 sockets in each of the three.
 * Raises the limit with prlimit when it is lower (raising the hard limit needs root), and fails
 * with what to do when that is refused, rather than measuring a server that ran out of sockets.
 */
export function ensureFdLimit(needed: number): void {
  const [soft, hard] = openFileLimits();
  if (soft >= needed) return;
  const limit = `${needed}:${Math.max(hard, needed)}`;
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${limit}`]);
  } catch (error) {
    throw new Error(
      `${needed} open files are needed, the limit is ${soft} and prlimit could not raise it; ` +
        `run under 'ulimit -n ${needed}'`,
      { cause: error },
    );
  }
  if (openFileLimits()[0] < needed) throw new Error(`the open-file limit stayed below ${needed}`);
}

/** This process's soft and hard limits on open files. */
function openFileLimits(): [number, number] {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (!line) throw new Error('no open-file limit in /proc/self/limits');
  const value = (text: string) => (text === 'unlimited' ? Infinity : Number(text));
  return [value(line[1]!), value(line[2]!)];
}
