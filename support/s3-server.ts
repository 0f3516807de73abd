// Shared by the tests, the benchmark and the demo: a real S3-protocol server (s3rver) in a child process.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Agent } from 'node:http';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const S3RVER = fileURLToPath(new URL('../node_modules/.bin/s3rver', import.meta.url));

/** A running s3rver: a real S3-protocol server over HTTP, in a child process. */
export interface S3TestServer {
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  client(options?: { endpoint?: string; timeoutMs?: number }): S3Client;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Client options s3rver needs (INFRA: path-style, checksums only when required). */
export function s3Client(
  endpoint: string,
  timeoutMs?: number,
  { httpAgent }: { httpAgent?: Agent } = {},
): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    requestHandler: {
      ...(timeoutMs ? { connectionTimeout: timeoutMs, requestTimeout: timeoutMs } : {}),
      ...(httpAgent ? { httpAgent } : {}),
    },
  });
}

/** Starts s3rver on a free port with a fresh data directory and one bucket. */
export async function startS3Server(bucket = 'test-bucket'): Promise<S3TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'kdv-s3-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    S3RVER,
    ['-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent'],
    {
      stdio: 'ignore',
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForPort(port);
  await s3Client(endpoint).send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    port,
    bucket,
    client: (options = {}) => s3Client(options.endpoint ?? endpoint, options.timeoutMs),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill();
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`s3rver did not start on port ${port}`);
}

const REQUEST_LINE = /^([A-Z]+ \S+) HTTP\/1\.1\r$/gm;

/**
 * A TCP relay in front of a server that counts the bytes the server sends back, and lists the
 * requests sent to it as `METHOD /path?query` (request lines; the bodies sent through it must
 * not contain text that looks like one).
 */
export async function countingProxy(targetPort: number): Promise<{
  port: number;
  bytesFromServer: () => number;
  requests: () => string[];
  reset: () => void;
  close: () => Promise<void>;
}> {
  let count = 0;
  let requests: string[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.on('data', (chunk: Buffer) => (count += chunk.length));
    client.on('data', (chunk: Buffer) => {
      for (const [, line] of chunk.toString('latin1').matchAll(REQUEST_LINE)) requests.push(line!);
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    bytesFromServer: () => count,
    requests: () => requests,
    reset: () => {
      count = 0;
      requests = [];
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
