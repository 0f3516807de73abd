import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { findNginx } from '../../demo/nginx-proxy.ts';
import { request } from '../support/http.ts';
import { skipOrFail } from '../support/skip.ts';

// `npm run demo` and `npm run demo:nginx` as a person runs them, stopped as a person stops
// them: Ctrl-C in the terminal (SIGINT to the whole process group) or `kill <npm's pid>`
// (SIGTERM to npm alone, which npm passes to its `sh -c` only). Nothing they started may stay.

/** [pid, parent pid, state] of every process, from /proc (Linux). */
function processes(): [number, number, string][] {
  const table: [number, number, string][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push([Number(entry), Number(ppid), state!]);
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

function descendants(root: number): number[] {
  const table = processes();
  const found = [root];
  for (let i = 0; i < found.length; i++) {
    for (const [pid, ppid] of table) if (ppid === found[i]) found.push(pid);
  }
  return found.slice(1);
}

/** The command line of `pid`, or undefined once it has exited (even between two reads). */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

/** Processes of `pids` still alive (a zombie waiting for its parent counts as ended). */
function alive(pids: number[]): string[] {
  const table = new Map(processes().map(([pid, , state]) => [pid, state]));
  return pids
    .filter((pid) => table.has(pid) && table.get(pid) !== 'Z')
    .flatMap((pid) => {
      const command = commandLine(pid);
      return command === undefined ? [] : [`${pid} ${command}`];
    });
}

async function startNpm(script: string): Promise<{ npm: ChildProcess; url: string }> {
  // Its own process group, as a terminal gives a command it runs.
  const npm = spawn('npm', ['run', script], {
    env: { ...process.env, PORT: '0', NODE_V8_COVERAGE: '' },
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  npm.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  for (let i = 0; i < 300; i++) {
    const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
    if (url) return { npm, url };
    await sleep(100);
  }
  process.kill(-npm.pid!, 'SIGKILL');
  throw new Error(`npm run ${script} did not start:\n${output}`);
}

async function expectAllGone(pids: number[]): Promise<void> {
  for (let i = 0; i < 100 && alive(pids).length > 0; i++) await sleep(100);
  expect(alive(pids)).to.deep.equal([]);
}

const STOPS: [string, (npm: ChildProcess) => void][] = [
  ['Ctrl-C (SIGINT to the process group)', (npm) => process.kill(-npm.pid!, 'SIGINT')],
  ['SIGTERM to npm', (npm) => npm.kill('SIGTERM')],
];

for (const script of ['demo', 'demo:nginx']) {
  describe(`npm run ${script}: stopping it stops every process it started`, function () {
    this.timeout(30_000);
    before(function () {
      // The process table is read from /proc.
      if (!existsSync('/proc/self/stat'))
        skipOrFail(this, 'no /proc to read the process table from');
      if (script === 'demo:nginx' && !findNginx()) skipOrFail(this, 'nginx is not installed');
    });

    for (const [how, stop] of STOPS) {
      it(`on ${how}`, async () => {
        const { npm, url } = await startNpm(script);
        const started = descendants(npm.pid!);
        const names = started.map((pid) => commandLine(pid) ?? '');
        expect(names.some((name) => name.includes('s3rver'))).to.equal(true);
        if (script === 'demo:nginx')
          expect(names.some((n) => n.startsWith('nginx'))).to.equal(true);
        expect((await request(url)).status).to.equal(200);
        stop(npm);
        await expectAllGone([npm.pid!, ...started]);
      });
    }
  });
}
