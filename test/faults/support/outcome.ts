import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestServer } from '../../support/koa.ts';
import { exchange, get, parseResponses, type Wire } from '../../support/wire.ts';

/**
 * How a download under a fault may end, and nothing else: the right bytes in full, an error
 * answer before any byte of the file, or a connection cut before the announced length (which
 * every client reports as a failed download). A clean end of a wrong body is never one of them.
 */
export type Outcome =
  | { readonly kind: 'complete'; readonly status: number }
  | { readonly kind: 'refused'; readonly status: number }
  | { readonly kind: 'aborted'; readonly bytes: number };

/** Reads what the first response on `wire` was; fails the test on any other ending. */
export function outcomeOf(wire: Wire, expected: Buffer): Outcome {
  const [first] = parseResponses(wire.bytes).responses;
  if (!first) {
    expect(wire.closed, 'no answer, and the connection left open: a hang').to.equal(true);
    return { kind: 'aborted', bytes: 0 };
  }
  if (!first.complete) {
    // Only the server's close can end this exchange before the quiet time: a stall shows up
    // as an open connection here.
    expect(wire.closed, `a ${first.status} cut short, with the connection left open`).to.equal(
      true,
    );
    return { kind: 'aborted', bytes: first.body.length };
  }
  if (first.status >= 400) return { kind: 'refused', status: first.status };
  expect(first.headers['content-length'], 'a length to check the body against').to.be.a('string');
  expect(
    first.body.equals(expected),
    `a clean ${first.status} whose body is not the file's`,
  ).to.equal(true);
  return { kind: 'complete', status: first.status };
}

/** One GET on a fresh connection, read until the server closes or stays silent for 2 s. */
export function download(
  url: string,
  path: string,
  options: { headers?: Record<string, string>; slowly?: () => Promise<void> } = {},
): Promise<Wire> {
  // Far longer than any stall timeout used here, so a response that stalls is told apart
  // from one the server ended: the first shows up as `closed`, the second would not.
  // `Connection: close` ends the exchange with the response, so its time is the answer's.
  const headers = { ...options.headers, Connection: 'close' };
  return exchange(url, get(path, headers), { quietMs: 2000, slowly: options.slowly });
}

/**
 * This process's open descriptors, leaving out TCP connections from or to `ignorePorts`: the
 * storage's own network, whose client keeps and reopens connections for its pool on a schedule
 * of its own (Node's fetch opens an idle one after an aborted body and closes it 4 s later).
 * Files, pipes and every other socket, the client's included, are counted.
 */
export async function descriptorCount(ignorePorts: readonly number[] = []): Promise<number> {
  const { readdir, readlink, readFile } = await import('node:fs/promises');
  const fds = await readdir('/proc/self/fd');
  if (ignorePorts.length === 0) return fds.length;
  const ignored = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const [, local = '', remote = '', , , , , , , inode = ''] = line.trim().split(/\s+/);
      const ports = [local, remote].map((address) => parseInt(address.split(':')[1] ?? '', 16));
      if (ports.some((port) => ignorePorts.includes(port))) ignored.add(`socket:[${inode}]`);
    }
  }
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return links.filter((link) => !ignored.has(link)).length;
}

/**
 * Waits until this process holds no more descriptors than `baseline` (sockets and files close
 * a little after the response), then a little more so that a late error is counted too.
 */
export async function settle(
  baseline: number,
  {
    timeoutMs = 3000,
    ignorePorts = [],
  }: { timeoutMs?: number; ignorePorts?: readonly number[] } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let open = await descriptorCount(ignorePorts);
  while (open > baseline && Date.now() < deadline) {
    await sleep(20);
    open = await descriptorCount(ignorePorts);
  }
  await sleep(50);
  expect(await descriptorCount(ignorePorts), 'descriptors back to the baseline').to.be.at.most(
    baseline,
  );
}

/** The server answers a plain download of `path` in full after the fault. */
export async function answersNext(server: TestServer, path: string, expected: Buffer) {
  const wire = await download(server.url, path);
  expect(outcomeOf(wire, expected)).to.deep.equal({ kind: 'complete', status: 200 });
}

/**
 * The code of the one error the app reported (a 5xx's own, or its cause's: the HTTP error
 * wraps the storage's); fails unless there was exactly one.
 */
export function theOneErrorCode(server: TestServer): string | undefined {
  const codes = server.errors.map((err) => {
    const { code, cause } = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    return code ?? cause?.code;
  });
  expect(
    server.errors.map((err, i) => `${codes[i]}: ${err.message}`),
    'errors the app reported',
  ).to.have.length(1);
  return codes[0];
}
