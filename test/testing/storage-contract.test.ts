import { expect } from 'chai';
import { describeStorageContract } from '../../src/testing/storage-contract.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { HangingStorage, OffByOneStorage, ReadOnlyStorage } from './support/contract-drivers.ts';
import { failureOf, named, runContract } from './support/run-contract.ts';

describe('testing: describeStorageContract', () => {
  describe('checks its own arguments', () => {
    const factory = () => new MemoryStorage();
    const wrong: [string, () => void][] = [
      ['an empty label', () => describeStorageContract('', factory)],
      ['a factory that is not a function', () => describeStorageContract('x', {} as never)],
      ['an unknown option', () => describeStorageContract('x', factory, { timout: 5 } as never)],
      ['a timeout of 0', () => describeStorageContract('x', factory, { timeout: 0 })],
      [
        'hooks without afterEach',
        () =>
          describeStorageContract('x', factory, {
            hooks: { describe() {}, it() {}, beforeEach() {} } as never,
          }),
      ],
    ];
    for (const [what, call] of wrong) {
      it(`throws a TypeError for ${what}, registering nothing`, () => {
        expect(call).to.throw(TypeError, /^describeStorageContract: /);
      });
    }
  });

  it('passes MemoryStorage, every optional block included', async () => {
    const results = await runContract((files) => new MemoryStorage({ files, baseUrl: '/m/' }));
    expect(named(results, 'failed')).to.deep.equal([]);
    expect(named(results, 'skipped')).to.deep.equal([]);
    expect(results.length).to.be.greaterThan(50);
  });

  it('passes a read-only driver with only stat and open, skipping what it lacks', async () => {
    const results = await runContract((files) => new ReadOnlyStorage(files));
    expect(named(results, 'failed')).to.deep.equal([]);
    const skipped = named(results, 'skipped');
    for (const block of ['exists tells', 'path()', 'url()', 'openFile', 'save and delete']) {
      expect(
        skipped.some((name) => name.includes(block)),
        block,
      ).to.equal(true);
    }
    expect(named(results, 'passed')).to.include.members([
      'storage contract: under test > open reads the first byte',
      'storage contract: under test > serves a range through downloadview() over HTTP (206)',
    ]);
  });

  it('builds a fresh storage per test and cleans each up', async () => {
    let built = 0;
    let cleaned = 0;
    const results = await runContract((files) => {
      built++;
      return { storage: new MemoryStorage({ files }), cleanup: () => void cleaned++ };
    });
    expect(built).to.equal(results.length);
    expect(cleaned).to.equal(results.length);
  });

  describe('an off-by-one range (one byte too many)', () => {
    let results: Awaited<ReturnType<typeof runContract>>;
    before(async () => {
      results = await runContract((files) => new OffByOneStorage(files));
    });

    it('fails every ranged read short of the file end, and the HTTP round trip', () => {
      expect(named(results, 'failed')).to.deep.equal([
        'storage contract: under test > open reads the first byte',
        'storage contract: under test > open reads a middle range',
        'storage contract: under test > serves a range through downloadview() over HTTP (206)',
      ]);
    });

    it('reports the error the app raised during the round trip, not on stderr', () => {
      const error = failureOf(results, 'serves a range through downloadview() over HTTP (206)');
      expect(error.message).to.match(
        /^the HTTP round trip answered, but the app reported StorageChangedError: /,
      );
    });

    it('shows the range asked, both sizes, the bytes, and the bytes sent instead', () => {
      const lines = failureOf(results, 'open reads the first byte').message.split('\n');
      expect(lines[0]).to.equal(
        'storage.open("data/random.bin", { start: 0, end: 0 }) gave the wrong bytes:',
      );
      expect(lines[1]).to.equal('  asked     bytes 0-0 (1 byte of 102400)');
      expect(lines[2]).to.match(/^ {2}expected {2}1 byte: [0-9a-f]{2}$/);
      expect(lines[3]).to.match(/^ {2}actual {4}2 bytes: [0-9a-f]{2} [0-9a-f]{2}$/);
      expect(lines[3]!.slice(-5, -3)).to.equal(lines[2]!.slice(-2));
      expect(lines[4]).to.equal('  first difference at offset 1 (byte 1 of the file)');
      expect(lines[5]).to.equal(
        '  actual is bytes 0-1 of the file, where bytes 0-0 were asked: an off-by-one in the range?',
      );
    });

    it('shows the middle of a long range around the first difference, in hex', () => {
      const message = failureOf(results, 'open reads a middle range').message;
      expect(message).to.contain('asked     bytes 10-102390 (102381 bytes of 102400)');
      expect(message).to.contain('actual    102382 bytes: …');
      expect(message).to.contain('first difference at offset 102381 (byte 102391 of the file)');
      expect(message).to.contain('actual is bytes 10-102391 of the file');
    });
  });

  describe('a stream that never ends', () => {
    let results: Awaited<ReturnType<typeof runContract>>;
    before(async () => {
      results = await runContract((files) => new HangingStorage(files), {
        timeout: 200,
      });
    });

    it('fails the HTTP round trip after its own timeout, saying how far it got', () => {
      const error = failureOf(results, 'serves a range through downloadview() over HTTP (206)');
      // The streaming backend waits for the first byte before it sends the headers.
      expect(error.message).to.equal(
        'HTTP round trip (GET with Range: bytes=1-3 through downloadview()) got no complete ' +
          'response within 200 ms: no response headers, 0 body bytes received. ' +
          'Does the storage stream end after the range?',
      );
    });

    it('fails each read naming the call and the bytes read so far', () => {
      expect(failureOf(results, 'open reads the last byte').message).to.equal(
        'storage.open("data/random.bin", { start: 102399, end: 102399 }): the stream neither ' +
          'ended nor failed within 200 ms (0 bytes read): does it push its end?',
      );
    });

    it('still passes what needs no bytes: errors, and release of a stream destroyed early', () => {
      expect(named(results, 'passed')).to.include.members([
        'storage contract: under test > destroying a stream early releases it (it closes)',
        'storage contract: under test > security: hostile names > stat and open refuse "../x" with ERR_STORAGE_INVALID_NAME',
      ]);
    });
  });
});
