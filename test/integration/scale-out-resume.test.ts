import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, realpath, rm, utimes, writeFile } from 'node:fs/promises';
import { get, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, startS3Server, type S3TestServer } from '../../support/s3-server.ts';
import { request, type RawResponse } from '../support/http.ts';
import { http1Only } from '../support/transport.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type RunningProxy } from './support/proxies.ts';

// Scale-out resume (issue 14, item 5): three app processes behind one nginx `upstream`. A large
// download is cut off part-way, the instance that served it is killed (SIGKILL, as a crash or a
// redeploy would), and the client resumes with `Range: bytes=N-` + `If-Range: <ETag>`. Another
// instance must answer 206 with exactly the missing bytes, which it can only do if it derives
// the same ETag as the dead one; and when the file changed in between, If-Range must make it
// answer 200 with the whole new file, never a splice of two versions.
// Instances tag their answers with X-Instance (support/scale-out-instance.ts).

const INSTANCE_APP = fileURLToPath(new URL('./support/scale-out-instance.ts', import.meta.url));
const INSTANCE_IDS = ['a', 'b', 'c'] as const;
type InstanceId = (typeof INSTANCE_IDS)[number];

/** Large enough that the cut lands well inside the body, whatever nginx buffers. */
const LARGE_SIZE = 32 * 1024 * 1024;
const LARGE_CUT = 4 * 1024 * 1024;
/** Files compared instance to instance, without nginx or a kill: smaller will do. */
const SMALL_SIZE = 8 * 1024 * 1024;
const SMALL_CUT = 1024 * 1024;
/** A fixed modification time, so copies can be given the same one or deliberately another. */
const DEPLOYED_AT = new Date('2026-05-06T07:08:09Z');
const READY_TIMEOUT_MS = 20000;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');
const secondsLater = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

/** One app process, restartable on its fixed port (nginx's upstream block names the port). */
class Instance {
  readonly errors: string[] = [];
  #child: ChildProcess | undefined;
  #listening = false;

  constructor(
    readonly id: InstanceId,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Started and accepting connections: a process still starting up is not counted. */
  get listening(): boolean {
    return this.#listening;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', INSTANCE_APP], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Empty, not absent: under c8 the child's own coverage of src/ would be merged into the
      // parent's report.
      env: { ...process.env, ...this.env, NODE_V8_COVERAGE: '' },
    });
    this.#child = child;
    child.once('exit', () => (this.#listening = false));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (line.startsWith('error ')) this.errors.push(line);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`instance ${this.id} not listening after ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line !== `listening ${this.port}`) return;
        clearTimeout(timer);
        this.#listening = true;
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`instance ${this.id} exited before listening (${code ?? signal})`));
      });
    });
  }

  /** As a crash would: no chance to finish a response or close a socket cleanly. */
  kill(): Promise<void> {
    return this.#stop('SIGKILL');
  }

  stop(): Promise<void> {
    return this.#stop('SIGTERM');
  }

  async #stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    this.#listening = false;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

/** What the client kept of a download it cut off. */
interface Interrupted {
  status: number;
  headers: IncomingHttpHeaders;
  /** Exactly the first bytes of the body, in order: what a browser has on disk. */
  received: Buffer;
  etag: string;
  instance: InstanceId;
}

/** GETs `url` and hangs up once `cut` bytes (or a little more) of the body have arrived. */
function interruptedDownload(url: string, cut: number): Promise<Interrupted> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (!settled) outcome();
      settled = true;
    };
    const req = get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('error', () => {}); // the hang-up below; the outcome is already settled
      res.on('end', () =>
        settle(() => reject(new Error(`${url}: ${res.statusCode}, ended before ${cut} bytes`))),
      );
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        chunks.push(chunk);
        received += chunk.length;
        if (received < cut) return;
        req.destroy();
        const { statusCode = 0, headers } = res;
        settle(() =>
          resolve({
            status: statusCode,
            headers,
            received: Buffer.concat(chunks),
            etag: String(headers['etag']),
            instance: headers['x-instance'] as InstanceId,
          }),
        );
      });
    });
    req.on('error', (error) => settle(() => reject(error)));
  });
}

/** The request a browser sends to resume: the missing bytes, only if the file is unchanged. */
function resume(url: string, interrupted: Interrupted): Promise<RawResponse> {
  const headers = { Range: `bytes=${interrupted.received.length}-`, 'If-Range': interrupted.etag };
  return request(url, { headers });
}

/** Fills `path` with `bytes` and dates it `modified`, as a deployment would leave it. */
async function placeFile(path: string, bytes: Uint8Array, modified: Date): Promise<void> {
  await writeFile(path, bytes, { mode: 0o644 });
  await utimes(path, modified, modified);
}

describe('integration: a download resumed on another instance behind one nginx upstream', function () {
  let root: string;
  let sharedDir: string;
  const ownDirs = {} as Record<InstanceId, string>;
  let s3: S3TestServer | undefined;
  let uploader: S3Client | undefined;
  let proxy: RunningProxy | undefined;
  const instances = {} as Record<InstanceId, Instance>;
  /** Restarts of killed instances, left to run while the next tests already go on. */
  const restarts = new Map<InstanceId, Promise<void>>();
  const large = randomBytes(LARGE_SIZE);
  const putObject = (Key: string, Body: Buffer) =>
    uploader!.send(new PutObjectCommand({ Bucket: s3!.bucket, Key, Body })).then(() => {});

  before(async function () {
    this.timeout(90000);
    http1Only(this, 'its app instances are processes of their own, listening on plain HTTP');
    requireBinary(this, 'nginx');
    // nginx workers run unprivileged and read the offloaded file themselves.
    root = await realpath(await mkdtemp(join(tmpdir(), 'kdv-scale-out-')));
    await chmod(root, 0o755);
    sharedDir = join(root, 'shared');
    await mkdir(sharedDir, { mode: 0o755 });
    s3 = await startS3Server();
    uploader = s3.client();
    for (const id of INSTANCE_IDS) {
      ownDirs[id] = join(root, `own-${id}`);
      await mkdir(ownDirs[id], { mode: 0o755 });
      const port = await freePort();
      instances[id] = new Instance(id, port, {
        INSTANCE_ID: id,
        PORT: String(port),
        SHARED_DIR: sharedDir,
        OWN_DIR: ownDirs[id],
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
      });
    }
    // Each instance takes seconds to start: the files are written meanwhile.
    await Promise.all([
      ...INSTANCE_IDS.map((id) => instances[id].start()),
      placeFile(join(sharedDir, 'large.bin'), large, DEPLOYED_AT),
      putObject('large.bin', large),
    ]);
    const ports = INSTANCE_IDS.map((id) => instances[id].port);
    proxy = await startProxy('nginx', {
      upstreamPort: ports[0]!,
      filesDir: sharedDir,
      editConfig: (template) => withUpstreamOfInstances(template, ports),
    });
  });

  after(async function () {
    // Instances still starting are stopped too: their pending restart then fails, unheard.
    await proxy?.stop();
    await Promise.all(INSTANCE_IDS.map((id) => instances[id]?.stop()));
    uploader?.destroy();
    await s3?.stop();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  afterEach(function () {
    const reported = INSTANCE_IDS.flatMap((id) => instances[id]?.errors.splice(0) ?? []);
    expect(reported, 'errors the instances reported').to.deep.equal([]);
  });

  /**
   * Cuts a download through nginx off, kills the instance that served it and resumes through
   * nginx, which can only pass the resume to a survivor. The killed instance is restarted in
   * the background.
   */
  async function cutKillResume(path: string) {
    await listeningInstances(2);
    const cut = await interruptedDownload(proxy!.url + path, LARGE_CUT);
    expect(cut.status, `first request for ${path}`).to.equal(200);
    expect(INSTANCE_IDS, 'the answer names its instance').to.include(cut.instance);
    const killed = instances[cut.instance];
    await killed.kill();
    const resumed = await resume(proxy!.url + path, cut);
    const restart = killed.start();
    // Awaited by the next test that needs it; never left to crash mocha as unhandled.
    restart.catch(() => {});
    restarts.set(killed.id, restart);
    expect(resumed.headers['x-instance'], 'the resume comes from a survivor').to.not.equal(
      killed.id,
    );
    return { cut, resumed };
  }

  /**
   * Cuts a download off on one instance, runs `change`, then resumes on another instance,
   * both asked directly.
   */
  async function cutChangeResume(path: string, change: () => Promise<void>) {
    const [first, second] = await listeningInstances(2);
    const cut = await interruptedDownload(first!.url + path, SMALL_CUT);
    expect([cut.status, cut.instance]).to.deep.equal([200, first!.id]);
    await change();
    const resumed = await resume(second!.url + path, cut);
    expect(resumed.headers['x-instance']).to.equal(second!.id);
    return { cut, resumed };
  }

  /** At least `count` instances accepting connections, waiting for restarts as needed. */
  async function listeningInstances(count: number): Promise<Instance[]> {
    const listening = () => INSTANCE_IDS.map((id) => instances[id]).filter((i) => i.listening);
    while (listening().length < count) {
      const [id, pending] = [...restarts].find(([id]) => !instances[id].listening) ?? [];
      if (!pending) throw new Error(`fewer than ${count} instances up, and none restarting`);
      await pending;
      restarts.delete(id!);
    }
    return listening();
  }

  /** The ETag each of the three instances gives `path` when asked directly. */
  async function etagsOf(path: string): Promise<string[]> {
    const all = await listeningInstances(INSTANCE_IDS.length);
    const answers = await Promise.all(all.map((i) => request(i.url + path, { method: 'HEAD' })));
    return answers.map((res) => String(res.headers['etag']));
  }

  const distinct = (etags: string[]) => new Set(etags).size;

  function expectCompleted(cut: Interrupted, resumed: RawResponse, whole: Buffer): void {
    expect(resumed.status, `resume with If-Range: ${cut.etag}`).to.equal(206);
    expect(resumed.headers['content-range']).to.equal(
      `bytes ${cut.received.length}-${whole.length - 1}/${whole.length}`,
    );
    expect(resumed.headers['etag'], 'the resuming instance has the same ETag').to.equal(cut.etag);
    const joined = Buffer.concat([cut.received, resumed.body]);
    expect(joined.length).to.equal(whole.length);
    expect(sha256(joined), 'the joined download is the file, byte for byte').to.equal(
      sha256(whole),
    );
  }

  function expectWholeNewFile(cut: Interrupted, resumed: RawResponse, now: Buffer): void {
    expect(resumed.status, `resume with a stale If-Range: ${cut.etag}`).to.equal(200);
    expect(resumed.headers['etag']).to.not.equal(cut.etag);
    expect(resumed.headers['content-range']).to.equal(undefined);
    expect(sha256(resumed.body), 'the whole current file, not a range of it').to.equal(sha256(now));
  }

  // First what needs all three instances up; the kills come last, since a killed instance
  // takes seconds to start again.
  describe('every instance derives the same ETag for the same file', function () {
    for (const [mode, prefix] of [
      ["default etag ('stat')", '/s3'],
      ["etag: 'content'", '/s3-content'],
    ] as const) {
      it(`S3Storage, ${mode}: S3's own tag, the object's MD5`, async function () {
        const etags = await etagsOf(`${prefix}/large.bin`);
        expect(etags).to.deep.equal(Array(3).fill(`"${md5(large)}"`));
      });
    }

    it("one shared directory, default etag ('stat'): the tag of its size and mtime, as nginx makes it", async function () {
      const etags = await etagsOf('/stat/large.bin');
      const nginxFormat = `"${(DEPLOYED_AT.getTime() / 1000).toString(16)}-${LARGE_SIZE.toString(16)}"`;
      expect(etags).to.deep.equal(Array(3).fill(nginxFormat));
    });

    it("one shared directory, etag: 'content': the SHA-256 of its bytes", async function () {
      const etags = await etagsOf('/content/large.bin');
      const hash = `"${createHash('sha256').update(large).digest('base64url')}"`;
      expect(etags).to.deep.equal(Array(3).fill(hash));
    });
  });

  describe('FileSystemStorage with its own copy of the files on each instance', function () {
    /** Gives each instance its own copy of `name`, as `copy(id)` says. */
    async function deploy(name: string, copy: (id: InstanceId) => [Buffer, Date]) {
      for (const id of INSTANCE_IDS) await placeFile(join(ownDirs[id], name), ...copy(id));
    }

    const unchanged = async () => {};

    describe('copies that kept their mtime (cp -p, rsync -a, one image layer)', function () {
      const bytes = randomBytes(SMALL_SIZE);
      before(() => deploy('kept-mtime.bin', () => [bytes, DEPLOYED_AT]));

      for (const [mode, prefix] of [
        ["default etag ('stat')", '/own-stat'],
        ["etag: 'content'", '/own-content'],
      ] as const) {
        it(`${mode}: one ETag on every instance; resumed on another: 206, byte-exact`, async function () {
          expect(distinct(await etagsOf(`${prefix}/kept-mtime.bin`))).to.equal(1);
          const { cut, resumed } = await cutChangeResume(`${prefix}/kept-mtime.bin`, unchanged);
          expectCompleted(cut, resumed, bytes);
        });
      }
    });

    describe('copies of the same bytes, each dated when it was copied (cp, scp, a checkout)', function () {
      const bytes = randomBytes(SMALL_SIZE);
      const copiedAt = (id: InstanceId) => secondsLater(DEPLOYED_AT, INSTANCE_IDS.indexOf(id));
      before(() => deploy('own-mtime.bin', (id) => [bytes, copiedAt(id)]));

      it("default etag ('stat'): an ETag per instance; resumed on another: 200, the download starts over", async function () {
        expect(distinct(await etagsOf('/own-stat/own-mtime.bin'))).to.equal(3);
        const { cut, resumed } = await cutChangeResume('/own-stat/own-mtime.bin', unchanged);
        expect(resumed.status).to.equal(200);
        expect(resumed.headers['etag']).to.not.equal(cut.etag);
        expect(sha256(resumed.body)).to.equal(sha256(bytes));
      });

      it("etag: 'content': one ETag on every instance; resumed on another: 206, byte-exact", async function () {
        expect(distinct(await etagsOf('/own-content/own-mtime.bin'))).to.equal(1);
        const { cut, resumed } = await cutChangeResume('/own-content/own-mtime.bin', unchanged);
        expectCompleted(cut, resumed, bytes);
      });
    });

    describe('different versions of the same size and mtime (a fixed build date, a deploy half done)', function () {
      const versions = Object.fromEntries(
        INSTANCE_IDS.map((id) => [id, randomBytes(SMALL_SIZE)]),
      ) as Record<InstanceId, Buffer>;
      before(() => deploy('other-version.bin', (id) => [versions[id], DEPLOYED_AT]));

      it("default etag ('stat'): the versions share one ETag, so the resume splices two of them (206): unsafe", async function () {
        expect(distinct(await etagsOf('/own-stat/other-version.bin'))).to.equal(1);
        const { cut, resumed } = await cutChangeResume('/own-stat/other-version.bin', unchanged);
        const [first, second] = [
          versions[cut.instance],
          versions[resumed.headers['x-instance'] as InstanceId],
        ];
        expect(resumed.status).to.equal(206);
        // The start of one version followed by the rest of another: neither file.
        expect(cut.received.equals(first.subarray(0, cut.received.length))).to.equal(true);
        expect(resumed.body.equals(second.subarray(cut.received.length))).to.equal(true);
        expect(first.equals(second)).to.equal(false);
      });

      it("etag: 'content': an ETag per version; resumed on another: 200, that instance's whole file", async function () {
        expect(distinct(await etagsOf('/own-content/other-version.bin'))).to.equal(3);
        const { cut, resumed } = await cutChangeResume('/own-content/other-version.bin', unchanged);
        expectWholeNewFile(cut, resumed, versions[resumed.headers['x-instance'] as InstanceId]);
      });
    });
  });
  describe('the file changed between the two requests: another instance answers 200 with the whole new file, never a splice', function () {
    it('S3Storage: the object replaced', async function () {
      const now = randomBytes(SMALL_SIZE);
      await putObject('replaced.bin', randomBytes(SMALL_SIZE));
      const { cut, resumed } = await cutChangeResume('/s3/replaced.bin', () =>
        putObject('replaced.bin', now),
      );
      expectWholeNewFile(cut, resumed, now);
    });

    for (const [mode, prefix] of [
      ["default etag ('stat')", '/stat'],
      ["etag: 'content'", '/content'],
    ] as const) {
      it(`one shared directory, ${mode}: the file rewritten`, async function () {
        const name = `rewritten-${prefix.slice(1)}.bin`;
        const path = join(sharedDir, name);
        const now = randomBytes(SMALL_SIZE);
        await placeFile(path, randomBytes(SMALL_SIZE), DEPLOYED_AT);
        // A minute later: a rewrite of the same size within the same second is the one
        // change a 'stat' tag cannot see (shown above with per-instance copies).
        const rewrite = () => placeFile(path, now, secondsLater(DEPLOYED_AT, 60));
        const { cut, resumed } = await cutChangeResume(`${prefix}/${name}`, rewrite);
        expectWholeNewFile(cut, resumed, now);
      });
    }

    it("one shared directory, etag: 'content': rewritten keeping size and mtime, on instances that had hashed the old bytes", async function () {
      const path = join(sharedDir, 'same-stat.bin');
      const now = randomBytes(SMALL_SIZE);
      await placeFile(path, randomBytes(SMALL_SIZE), DEPLOYED_AT);
      // Every instance hashes the old version first, so a hash cached by size and mtime
      // alone would show here; the cache key holds the change time, which a rewrite moves.
      expect(distinct(await etagsOf('/content/same-stat.bin'))).to.equal(1);
      const rewrite = () => placeFile(path, now, DEPLOYED_AT);
      const { cut, resumed } = await cutChangeResume('/content/same-stat.bin', rewrite);
      expectWholeNewFile(cut, resumed, now);
    });
  });

  describe('cut off after 4 MiB, its instance killed, resumed through nginx by another: 206, byte-exact', function () {
    const cases = [
      ['S3Storage, streamed', '/s3/large.bin'],
      ["one shared directory, default etag ('stat'), streamed", '/stat/large.bin'],
      ["one shared directory, etag: 'content', streamed", '/content/large.bin'],
      [
        'one shared directory, default etag, offloaded: nginx sends the resume',
        '/offload/large.bin',
      ],
      // nginx would judge If-Range by its own 'stat' tag, so the instance streams the resume.
      [
        "one shared directory, etag: 'content', offloaded: the instance streams the resume",
        '/offload-content/large.bin',
      ],
    ] as const;
    for (const [what, path] of cases) {
      it(what, async function () {
        const { cut, resumed } = await cutKillResume(path);
        expectCompleted(cut, resumed, large);
      });
    }
  });
});

/**
 * The documented nginx.conf with its single app address replaced by an `upstream` block of the
 * instances, and the instance that decided an offload named in /protected/'s answer too (nginx
 * drops the app's own X-* headers after X-Accel-Redirect).
 */
function withUpstreamOfInstances(template: string, ports: number[]): string {
  // max_fails=0: nginx tries every instance for each request and moves on when one refuses
  // the connection. With the default (1 failure sets a server aside for 10 s) an instance
  // restarted within those 10 s would still be skipped, and a second kill leave none.
  const servers = ports.map((port) => `    server 127.0.0.1:${port} max_fails=0;`).join('\n');
  const edits: [string, string][] = [
    ['proxy_pass http://127.0.0.1:{{UPSTREAM_PORT}};', 'proxy_pass http://app_instances;'],
    ['\n  server {', `\n  upstream app_instances {\n${servers}\n  }\n\n  server {`],
    [
      'alias "{{FILES_DIR}}/";',
      'alias "{{FILES_DIR}}/";\n      add_header X-Instance $upstream_http_x_instance;',
    ],
  ];
  return edits.reduce((text, [from, to]) => {
    if (text.split(from).length !== 2) throw new Error(`nginx.conf: expected one ${from}`);
    return text.replace(from, to);
  }, template);
}
