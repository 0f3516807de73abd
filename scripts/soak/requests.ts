import { parseMultipart } from '../../test/support/http.ts';
import { sha256, type SoakFile } from './files.ts';
import type { Random } from './random.ts';
import type { Received, SoakExchange } from './transport.ts';

/** The kinds of request in the mix, as the issue lists them. */
export const KIND_WEIGHTS = {
  full: 22,
  range: 16,
  'multi-range': 10,
  head: 10,
  'not-modified': 10,
  'precondition-failed': 7,
  aborted: 15,
  'slow-reader': 10,
} as const;
export type RequestKind = keyof typeof KIND_WEIGHTS;

/**
 * How often each file is asked for. The 64 MiB file is rare: one full download of it is as
 * many bytes as 64 of the 1 MiB file, and the clients share about 150 MB/s on two cores (the
 * client checks every byte), so at 2% it already carries about half of the bytes.
 */
const FILE_WEIGHTS: Record<string, number> = {
  'empty.bin': 10,
  '1k.bin': 45,
  '1m.bin': 43,
  '64m.bin': 2,
};

/**
 * Hang-ups land within the first 16 MiB: further in, the server is in the same state (mid
 * stream, under backpressure) and the client would only spend more time getting there.
 */
const LATEST_HANG_UP = 16 * 1024 * 1024;
/** A single range is at most this long, so ranged requests on the big file stay requests. */
const MAX_RANGE = 4 * 1024 * 1024;
/** Multi-range parts are small: the client keeps multipart bodies whole to parse them. */
const MAX_PART = 64 * 1024;

/** The validators a file's answers carried during warm-up, for conditional requests. */
export interface Validators {
  etag: string;
  lastModified: string;
}

/** One request of the mix: what to send, and how to judge what came back. */
export interface PlannedRequest {
  kind: RequestKind;
  file: SoakFile;
  exchange: SoakExchange;
  /** Why the answer is wrong, or undefined when it is right. */
  check(received: Received): string | undefined;
  /** Body bytes compared with the file when the answer is right. */
  verifiedBytes(received: Received): number;
}

/** Picks a kind and a file, and plans the request for them. */
export function planRequest(
  random: Random,
  files: readonly SoakFile[],
  prefix: string,
  validators: (file: SoakFile) => Validators,
): PlannedRequest {
  const kind = random.weighted(KIND_WEIGHTS);
  const file = pickFile(random, files, kind);
  const path = `${prefix}${file.name}`;
  return PLANNERS[kind]({ random, file, path, validators: validators(file) });
}

function pickFile(random: Random, files: readonly SoakFile[], kind: RequestKind): SoakFile {
  // Ranges of an empty file cannot be satisfied; hanging up mid-body needs more than the
  // one chunk a 1 KiB body arrives in.
  const minimum = kind === 'aborted' ? 1025 : kind === 'range' || kind === 'multi-range' ? 1 : 0;
  const candidates = files.filter((file) => file.bytes.length >= minimum);
  const weights = Object.fromEntries(candidates.map((f) => [f.name, FILE_WEIGHTS[f.name] ?? 1]));
  const name = random.weighted(weights);
  const file = candidates.find((candidate) => candidate.name === name);
  if (!file) throw new Error(`no file ${name}`);
  return file;
}

interface PlanInput {
  random: Random;
  file: SoakFile;
  path: string;
  validators: Validators;
}

const PLANNERS: Record<RequestKind, (input: PlanInput) => PlannedRequest> = {
  full: ({ file, path }) => whole('full', file, { method: 'GET', path, headers: {} }),
  'slow-reader': ({ random, file, path }) =>
    whole('slow-reader', file, {
      method: 'GET',
      path,
      headers: {},
      pauseMs: random.int(200, 1500),
    }),
  head: ({ file, path }) => ({
    kind: 'head',
    file,
    exchange: { method: 'HEAD', path, headers: {} },
    check: (got) =>
      expectStatus(got, 200) ??
      expectLength(got, file.bytes.length) ??
      (got.bodyLength === 0 ? undefined : `HEAD carried ${got.bodyLength} body bytes`),
    verifiedBytes: () => 0,
  }),
  range: planRange,
  'multi-range': planMultiRange,
  'not-modified': ({ random, file, path, validators }) => ({
    kind: 'not-modified',
    file,
    exchange: {
      method: 'GET',
      path,
      headers: either(
        random,
        ['if-none-match', validators.etag],
        ['if-modified-since', validators.lastModified],
      ),
    },
    check: (got) => expectStatus(got, 304) ?? expectNoBody(got),
    verifiedBytes: () => 0,
  }),
  'precondition-failed': ({ random, file, path }) => ({
    kind: 'precondition-failed',
    file,
    exchange: {
      method: 'GET',
      path,
      headers: either(
        random,
        ['if-match', '"soak-no-such-tag"'],
        ['if-unmodified-since', 'Sat, 01 Jan 2000 00:00:00 GMT'],
      ),
    },
    check: (got) => expectStatus(got, 412),
    verifiedBytes: () => 0,
  }),
  aborted: planAborted,
};

function whole(kind: RequestKind, file: SoakFile, exchange: SoakExchange): PlannedRequest {
  return {
    kind,
    file,
    exchange,
    check: (got) =>
      expectStatus(got, 200) ??
      expectLength(got, file.bytes.length) ??
      expectBody(got, file.bytes.length, file.sha256),
    verifiedBytes: (got) => got.bodyLength,
  };
}

function planRange({ random, file, path }: PlanInput): PlannedRequest {
  const size = file.bytes.length;
  const start = random.int(0, size - 1);
  const end = Math.min(size - 1, start + random.int(0, MAX_RANGE - 1));
  return {
    kind: 'range',
    file,
    exchange: { method: 'GET', path, headers: { range: `bytes=${start}-${end}` } },
    check: (got) =>
      expectStatus(got, 206) ??
      expectHeader(got, 'content-range', `bytes ${start}-${end}/${size}`) ??
      expectBody(got, end - start + 1, sha256(file.bytes.subarray(start, end + 1))),
    verifiedBytes: (got) => got.bodyLength,
  };
}

/** Two to four ranges, ascending with gaps between them, so none is coalesced. */
function planMultiRange({ random, file, path }: PlanInput): PlannedRequest {
  const size = file.bytes.length;
  const count = random.int(2, 4);
  const slot = Math.floor(size / count);
  const ranges = Array.from({ length: count }, (_, index) => {
    const start = index * slot + random.int(1, Math.floor(slot / 2));
    const end = Math.min(start + random.int(0, MAX_PART - 1), (index + 1) * slot - 2);
    return { start, end };
  });
  const header = `bytes=${ranges.map(({ start, end }) => `${start}-${end}`).join(',')}`;
  return {
    kind: 'multi-range',
    file,
    exchange: { method: 'GET', path, headers: { range: header }, keepBody: true },
    check: (got) => expectStatus(got, 206) ?? checkParts(got, file, ranges),
    verifiedBytes: () => ranges.reduce((sum, { start, end }) => sum + end - start + 1, 0),
  };
}

function checkParts(
  got: Received,
  file: SoakFile,
  ranges: { start: number; end: number }[],
): string | undefined {
  const type = got.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/byteranges')) return `content-type ${type}`;
  const parts = parseMultipart(got.body ?? Buffer.alloc(0), type);
  if (parts.length !== ranges.length) return `${parts.length} parts for ${ranges.length} ranges`;
  return ranges
    .map(({ start, end }, index) => {
      const part = parts[index];
      const expected = `bytes ${start}-${end}/${file.bytes.length}`;
      if (part?.headers['content-range'] !== expected) {
        return `part ${index}: content-range ${part?.headers['content-range']}, not ${expected}`;
      }
      const slice = file.bytes.subarray(start, end + 1);
      return sha256(part.body) === sha256(slice) ? undefined : `part ${index}: wrong bytes`;
    })
    .find((problem) => problem !== undefined);
}

/**
 * A client that leaves: before any answer, once the status line arrived, or at a random byte
 * of the body. What did arrive must be the start of the file.
 */
function planAborted({ random, file, path }: PlanInput): PlannedRequest {
  const size = file.bytes.length;
  const when = random.next();
  const exchange: SoakExchange =
    when < 0.1
      ? { method: 'GET', path, headers: {}, hangUpAtOnce: true }
      : {
          method: 'GET',
          path,
          headers: {},
          hangUpAfter: when < 0.2 ? 0 : random.int(1, Math.min(size - 1, LATEST_HANG_UP)),
        };
  return {
    kind: 'aborted',
    file,
    exchange,
    check: (got) => {
      if (got.status !== 0 && got.status !== 200) return `status ${got.status}, expected 200`;
      if (!got.hungUp && got.bodyLength !== size) return `ended by the server at ${got.bodyLength}`;
      const prefix = file.bytes.subarray(0, got.bodyLength);
      return got.bodyLength <= size && sha256(prefix) === got.bodySha256
        ? undefined
        : `the ${got.bodyLength} bytes before the hang-up are not the file's first`;
    },
    verifiedBytes: (got) => got.bodyLength,
  };
}

/** One of two header sets, as `Record<string, string>` (a union of literals is not one). */
function either(random: Random, a: [string, string], b: [string, string]): Record<string, string> {
  const [name, value] = random.next() < 0.5 ? a : b;
  return { [name]: value };
}

function expectStatus(got: Received, status: number): string | undefined {
  return got.status === status ? undefined : `status ${got.status}, expected ${status}`;
}

function expectHeader(got: Received, name: string, value: string): string | undefined {
  const actual = got.headers[name];
  return actual === value ? undefined : `${name}: ${actual}, expected ${value}`;
}

/** Content-Length, when sent, announces the file's size (HTTP/2 may leave it out). */
function expectLength(got: Received, size: number): string | undefined {
  const announced = got.headers['content-length'];
  if (announced === undefined) return undefined;
  return Number(announced) === size ? undefined : `content-length ${announced}, expected ${size}`;
}

function expectBody(got: Received, length: number, digest: string): string | undefined {
  if (got.bodyLength !== length) return `${got.bodyLength} body bytes, expected ${length}`;
  return got.bodySha256 === digest ? undefined : 'body bytes differ from the file';
}

function expectNoBody(got: Received): string | undefined {
  return got.bodyLength === 0 ? undefined : `${got.bodyLength} body bytes, expected none`;
}
