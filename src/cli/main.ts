import { parseArgs } from 'node:util';
import type { Expectation, DoctorProxy } from '../doctor/judge.ts';
import { probeContent } from '../doctor/probe.ts';
import { formatReport } from '../doctor/render.ts';
import { runDoctor } from '../doctor/run.ts';

/** Where the command writes; the real process streams, or buffers in tests. */
export interface CliOutput {
  readonly stdout: { write(text: string | Uint8Array): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** Exit codes: every check held, a check failed, the command line was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const USAGE = `Usage:
  koa-downloadview doctor --app <url> [--public <url>] [options]
      Checks a deployment through the healthcheck() route: the app directly (--app),
      then through the proxy (--public; default: the app, no proxy).
      --json            print the report as JSON
      --timeout <ms>    per request (default 5000)
      --insecure        accept a self-signed certificate on --public
      --expect <how>    offload | stream | x-accel-redirect | x-sendfile | redirect
      --proxy <name>    nginx | apache | lighttpd | caddy, when its Server header does not say
      --internal <path> the probe's offload target as the proxy gets it (X-Accel-Redirect URI
                        or X-Sendfile path): needed to check the internal location under
                        backend 'auto', which names it to the proxy only
  koa-downloadview probe
      Writes the probe's bytes to stdout, for a storage the app cannot write to.
Exit status: 0 all checks hold, 1 a check failed, 2 usage error.
`;

const EXPECTATIONS: readonly Expectation[] = [
  'offload',
  'stream',
  'x-accel-redirect',
  'x-sendfile',
  'redirect',
];
const PROXIES: readonly DoctorProxy[] = ['nginx', 'apache', 'lighttpd', 'caddy'];

class UsageError extends Error {}

/**
 * The `koa-downloadview` command: `doctor`, `probe` or `help`. Resolves with the exit code.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2), process);
 */
export async function main(argv: readonly string[], output: CliOutput): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const wantsHelp = rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h');
    if (command === 'doctor' && !wantsHelp) return await doctor(rest, output);
    if (command === 'probe' && rest.length === 0) {
      output.stdout.write(probeContent());
      return EXIT.ok;
    }
    const help = command === 'help' || command === '--help' || command === '-h';
    if ((help && rest.length === 0) || (command === 'doctor' && wantsHelp)) {
      output.stdout.write(USAGE);
      return EXIT.ok;
    }
    throw new UsageError(
      command === undefined ? 'no command given' : `unknown command "${command}"`,
    );
  } catch (err) {
    if (!(err instanceof UsageError) && !isParseArgsError(err)) throw err;
    output.stderr.write(`koa-downloadview: ${err.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
}

/** parseArgs throws TypeErrors with an `ERR_PARSE_ARGS_*` code for unknown or malformed flags. */
function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | undefined)?.code;
  return err instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

async function doctor(argv: readonly string[], output: CliOutput): Promise<number> {
  // parseArgs keeps the last of a repeated option: a second --app would silently win.
  for (const flag of ['--app', '--public', '--internal']) {
    const given = argv.filter((arg) => arg === flag || arg.startsWith(`${flag}=`)).length;
    if (given > 1) throw new UsageError(`${flag} given ${given} times`);
  }
  const { values } = parseArgs({
    args: [...argv],
    options: {
      app: { type: 'string' },
      public: { type: 'string' },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '5000' },
      insecure: { type: 'boolean', default: false },
      expect: { type: 'string' },
      proxy: { type: 'string' },
      internal: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const report = await runDoctor({
    app: httpUrl('--app', values.app),
    public: values.public === undefined ? undefined : httpUrl('--public', values.public),
    timeoutMs: timeout(values.timeout),
    insecure: values.insecure,
    expect: oneOf('--expect', values.expect, EXPECTATIONS),
    proxy: oneOf('--proxy', values.proxy, PROXIES),
    internal: absolutePath('--internal', values.internal),
  });
  output.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report.ok ? EXIT.ok : EXIT.failed;
}

function absolutePath(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && !value.startsWith('/')) {
    throw new UsageError(`${flag} must be an absolute path, got "${value}"`);
  }
  return value;
}

function httpUrl(flag: string, value: string | undefined): URL {
  if (value === undefined) throw new UsageError(`${flag} <url> is required`);
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new UsageError(`${flag} must be an http or https URL, got "${value}"`);
  }
  return url;
}

function timeout(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0)
    throw new UsageError(`--timeout must be a positive number of milliseconds, got "${value}"`);
  return ms;
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  legal: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  const found = legal.find((name) => name === value);
  if (found === undefined)
    throw new UsageError(`${flag} must be one of ${legal.join(', ')}, got "${value}"`);
  return found;
}
