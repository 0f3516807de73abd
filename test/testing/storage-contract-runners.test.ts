import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SUITE = fileURLToPath(new URL('./fixtures/contract-suite.ts', import.meta.url));
const MOCHA = fileURLToPath(new URL('../../node_modules/mocha/bin/mocha.js', import.meta.url));

interface Run {
  code: number | null;
  output: string;
}

/** Runs `args` with node in a child process; CONTRACT_* variables pick the suite's driver. */
function node(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const options = { env: { ...process.env, NODE_V8_COVERAGE: '', ...env }, timeout: 50_000 };
    execFile(process.execPath, args, options, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** `node --test` over the contract suite, as a user of node's own runner runs it. */
function nodeTest(env: Record<string, string>): Promise<Run> {
  return node(['--import', 'tsx', '--test', SUITE], env);
}

/** The count node's TAP summary gives for `what` (pass, fail, skipped). */
function count(run: Run, what: string): number {
  const match = new RegExp(`^# ${what} (\\d+)$`, 'm').exec(run.output);
  if (!match) throw new Error(`no "# ${what}" in the output:\n${run.output}`);
  return Number(match[1]);
}

describe('testing: describeStorageContract under other runners', function () {
  this.timeout(60_000);

  it('passes MemoryStorage under node --test, finding node:test without mocha globals', async () => {
    const run = await nodeTest({ CONTRACT_DRIVER: 'memory' });
    expect(run.code, run.output).to.equal(0);
    expect(count(run, 'fail')).to.equal(0);
    expect(count(run, 'skipped')).to.equal(0);
    expect(count(run, 'pass')).to.be.greaterThan(50);
  });

  it('passes a read-only driver under node --test with hooks given, skipping what it lacks', async () => {
    const run = await nodeTest({ CONTRACT_DRIVER: 'read-only', CONTRACT_HOOKS: 'node-test' });
    expect(run.code, run.output).to.equal(0);
    expect(count(run, 'fail')).to.equal(0);
    expect(count(run, 'skipped')).to.be.greaterThan(30);
    expect(run.output).to.contain('# SKIP the storage has no openFile()');
  });

  it('fails an off-by-one driver under node --test, showing the range and the bytes', async () => {
    const run = await nodeTest({ CONTRACT_DRIVER: 'off-by-one' });
    expect(run.code, run.output).to.equal(1);
    expect(count(run, 'fail')).to.equal(3);
    expect(run.output).to.contain('asked     bytes 0-0 (1 byte of 102400)');
    expect(run.output).to.contain(
      'actual is bytes 0-1 of the file, where bytes 0-0 were asked: an off-by-one in the range?',
    );
  });

  it("fails a hanging round trip under mocha with its own message, not mocha's 2 s timeout", async () => {
    const run = await node(
      [
        MOCHA,
        '--no-config',
        '--node-option',
        'import=tsx',
        '--extension',
        'ts',
        '--grep',
        'HTTP',
        SUITE,
      ],
      { CONTRACT_DRIVER: 'hanging', CONTRACT_TIMEOUT: '2500' },
    );
    expect(run.code, run.output).to.equal(1);
    expect(run.output).to.contain('got no complete response within 2500 ms');
    expect(run.output).to.not.contain('Timeout of 2000ms exceeded');
  });
});
