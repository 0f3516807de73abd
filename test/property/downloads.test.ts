import { expect } from 'chai';
import fc from 'fast-check';
import { generatedRequest, type FileFacts } from './arbitraries.ts';
import { keepAliveClient } from './client.ts';
import { formatHttpDate } from './model-dates.ts';
import { REGRESSIONS, type Regression } from './regressions.ts';
import { runBatch, stats, type Case } from './run.ts';
import { startTargets, type PropertyServer } from './targets.ts';

/**
 * Generated requests against the real middleware over HTTP, for every kind of source, checked
 * against the reference model (model.ts) under the library's documented policy (deviations.ts).
 * PROPERTY_RUNS sets the requests per target (default below; `npm run test:deep` asks ten
 * times more); PROPERTY_SEED replays a seed fast-check printed.
 */
const CASES_PER_TARGET = Number(process.env.PROPERTY_RUNS ?? 4000);
const SEED =
  process.env.PROPERTY_SEED === undefined ? undefined : Number(process.env.PROPERTY_SEED);
const BATCH = 32;

/** A regression's headers with the placeholders of regressions.ts filled in for one file. */
function fillIn(headers: Regression['headers'], etag: string, lastModified: Date) {
  const seconds = Math.floor(lastModified.getTime() / 1000);
  const imf = formatHttpDate(seconds, 'imf');
  const values: Record<string, string> = {
    etag,
    imf,
    rfc850: formatHttpDate(seconds, 'rfc850'),
    'rfc850-1h': formatHttpDate(seconds - 3600, 'rfc850'),
    asctime: formatHttpDate(seconds, 'asctime'),
    'imf-UTC': imf.replace('GMT', 'UTC'),
    'imf-no-zone': imf.replace(' GMT', ''),
  };
  const fill = (value: string) => value.replace(/\{([\w-]+)\}/g, (_, key: string) => values[key]!);
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, fill(value)]));
}

describe('property: downloads agree with the RFC 9110 §13–§14 model', function () {
  this.timeout(0);
  let served: PropertyServer;
  let client: ReturnType<typeof keepAliveClient>;
  const etags = new Map<string, string>();

  before(async () => {
    served = await startTargets();
    client = keepAliveClient(4);
    // The ETag the library derives for sources without one: read once, checked strong.
    for (const target of served.targets) {
      for (const file of target.files) {
        const response = await client.send(`${served.url}${target.path}${file.name}`, 'HEAD', {});
        const etag = String(response.headers.etag);
        expect(etag, `${target.label} ${file.name}`).to.match(/^"[\x21\x23-\x7e]*"$/);
        if (file.etag !== undefined) expect(etag).to.equal(file.etag);
        etags.set(`${target.label}/${file.name}`, etag);
      }
    }
  });

  after(async () => {
    client?.close();
    await served?.close();
    if (stats.cases > 0) {
      const perSecond = Math.round((stats.cases * 1000) / stats.milliseconds);
      console.log(`      property: ${stats.cases} requests checked, ${perSecond} per second`);
      const statuses = [...stats.statuses].sort().map(([status, n]) => `${status}: ${n}`);
      console.log(`      model answers (206m: multipart): ${statuses.join(', ')}`);
      for (const [id, count] of stats.defects) {
        console.log(`      !!! known defect ${id} (regressions.ts) answered ${count} requests`);
      }
    }
  });

  // 4xx answers are reported through app.emit('error') too; anything else is an exception.
  afterEach(() => {
    const unexpected = served.server.errors.filter(
      (err) => !((err as { status?: number }).status! < 500),
    );
    served.server.errors.length = 0;
    expect(unexpected.map(String)).to.deep.equal([]);
  });

  for (const label of ['filesystem', 'memory', 's3', 'custom', 'virtual', 'virtual-stream']) {
    it(`${label}: generated requests get the model's status, headers and bytes`, async () => {
      const target = served.targets.find((t) => t.label === label)!;
      const oneCase = fc.oneof(
        ...target.files.map((file) => {
          const etag = etags.get(`${label}/${file.name}`)!;
          const facts: FileFacts = {
            size: file.bytes.length,
            etag,
            lastModified: Math.floor(file.lastModified.getTime() / 1000),
          };
          return generatedRequest(facts).map((request): Case => ({ size: facts.size, request }));
        }),
      );
      const batch = fc.array(oneCase, { minLength: 1, maxLength: BATCH, size: 'max' });
      await fc.assert(
        fc.asyncProperty(batch, async (cases) => {
          const found = await runBatch(client, served.url, target, etags, cases);
          if (found.length > 0)
            throw new Error(`${found.length} disagreements:\n${found.slice(0, 3).join('\n')}`);
        }),
        { numRuns: Math.ceil((CASES_PER_TARGET * 2) / BATCH), seed: SEED, endOnFailure: false },
      );
    });
  }

  describe('regressions (test/property/regressions.ts)', () => {
    for (const regression of REGRESSIONS) {
      it(`${regression.method} ${JSON.stringify(regression.headers)} on ${regression.size} B: ${regression.note}`, async () => {
        const found: string[] = [];
        for (const target of served.targets) {
          const file = target.files.find((f) => f.bytes.length === regression.size)!;
          const etag = etags.get(`${target.label}/${file.name}`)!;
          const headers = fillIn(regression.headers, etag, file.lastModified);
          const cases = [
            { size: regression.size, request: { method: regression.method, headers } },
          ];
          found.push(
            ...(await runBatch(client, served.url, target, etags, cases, {
              tolerateDefects: false,
            })),
          );
        }
        expect(found, found.join('\n')).to.deep.equal([]);
      });
    }
  });
});
