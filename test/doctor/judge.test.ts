// The doctor's judgements on hand-made answers: each rule, cheaply, without a server. The
// same rules meet real proxies in proxies.test.ts.
import { expect } from 'chai';
import type { IncomingHttpHeaders } from 'node:http';
import { DoctorRequestError, type DoctorResponse } from '../../src/doctor/http-request.ts';
import {
  judgeApp,
  judgeAppAnswer,
  judgeInternal,
  judgeLeaks,
  judgePublic,
  judgeRange,
  judgeSpoof,
  proxyFromServer,
  type AppDelivery,
} from '../../src/doctor/judge.ts';
import { unhandledOffload } from '../../src/doctor/leaks.ts';
import { parseProbeHeader, probeContent } from '../../src/doctor/probe.ts';

const probe = probeContent();
const refused = new DoctorRequestError('ECONNREFUSED', 'connect ECONNREFUSED');

function answer(
  status: number,
  headers: IncomingHttpHeaders = {},
  body: Buffer = Buffer.alloc(0),
): DoctorResponse {
  return { status, headers, body, ms: 1 };
}

const accel: AppDelivery = { delivery: 'x-accel-redirect', target: '/protected/probe.txt' };
const sendfile: AppDelivery = { delivery: 'x-sendfile', target: '/srv/files/probe.txt' };
const stream: AppDelivery = { delivery: 'stream' };

describe('doctor: the probe', function () {
  it('is 2048 bytes of numbered ASCII lines, the same on every call', function () {
    expect(probe.length).to.equal(2048);
    expect(probe.toString('ascii').split('\n')[5]).to.match(
      /^koa-downloadview probe v1 line 05 =+$/,
    );
    expect(probeContent().equals(probe)).to.equal(true);
  });

  it('reads its header leniently and says undefined for unknown deliveries', function () {
    expect(parseProbeHeader('v=1; delivery=x-sendfile')).to.deep.equal({
      version: 1,
      delivery: 'x-sendfile',
    });
    expect(parseProbeHeader('V=2;DELIVERY=Stream')).to.deep.equal({
      version: 2,
      delivery: 'stream',
    });
    expect(parseProbeHeader('delivery=teleport')).to.deep.equal({
      version: undefined,
      delivery: undefined,
    });
    expect(parseProbeHeader(undefined)).to.equal(undefined);
  });
});

describe('doctor: judging the answers', function () {
  it('recognises each proxy by its Server header, and none by another', function () {
    expect(proxyFromServer('nginx/1.22.1')).to.equal('nginx');
    expect(proxyFromServer('Apache/2.4.62 (Debian)')).to.equal('apache');
    expect(proxyFromServer('lighttpd/1.4.69')).to.equal('lighttpd');
    expect(proxyFromServer('Caddy')).to.equal('caddy');
    expect(proxyFromServer('cloudflare')).to.equal(undefined);
    expect(proxyFromServer(undefined)).to.equal(undefined);
  });

  it('check 1: no connection, no probe header, an old probe, an error status, then a pass', function () {
    expect(judgeApp(refused).judgement.diagnosis).to.equal('app-unreachable');
    expect(judgeApp(answer(200)).judgement.diagnosis).to.equal('app-no-probe');
    const old = answer(200, { 'x-download-probe': 'v=0; delivery=stream' });
    expect(judgeApp(old).judgement.diagnosis).to.equal('app-no-probe');
    const missing = answer(404, { 'x-download-probe': 'v=1; delivery=error' });
    expect(judgeApp(missing).judgement.diagnosis).to.equal('probe-unavailable');
    const offload = answer(200, {
      'x-download-probe': 'v=1; delivery=x-sendfile',
      'x-sendfile': '/srv/r\xc3\xa9/p',
    });
    const { judgement, app } = judgeApp(offload);
    expect(judgement.verdict).to.equal('pass');
    // The raw UTF-8 path mod_xsendfile takes, read back as text.
    expect(app).to.deep.equal({ delivery: 'x-sendfile', target: '/srv/ré/p' });
  });

  it('check 2: a streamed body must be the probe, an offload answer empty and absolute', function () {
    const options = {};
    expect(judgeAppAnswer(answer(200, {}, probe), stream, probe, options).verdict).to.equal('pass');
    const other = Buffer.alloc(probe.length, 'x');
    expect(judgeAppAnswer(answer(200, {}, other), stream, probe, options).diagnosis).to.equal(
      'storage-probe-corrupt',
    );
    expect(judgeAppAnswer(answer(200, {}, probe), accel, probe, options).diagnosis).to.equal(
      'app-offload-invalid',
    );
    const relative = { delivery: 'x-accel-redirect', target: 'protected/p' } as const;
    expect(judgeAppAnswer(answer(200), relative, probe, options).diagnosis).to.equal(
      'app-offload-invalid',
    );
    expect(judgeAppAnswer(answer(200), accel, probe, options).verdict).to.equal('pass');
  });

  it('check 2 with --expect: streaming fails unless the proxy offloaded it (auto)', function () {
    const streamed = answer(200, {}, probe);
    const viaApp = { expect: 'offload', viaProxy: 'stream' } as const;
    expect(judgeAppAnswer(streamed, stream, probe, viaApp).diagnosis).to.equal(
      'app-delivery-unexpected',
    );
    const viaProxy = { expect: 'offload', viaProxy: 'proxy' } as const;
    expect(judgeAppAnswer(streamed, stream, probe, viaProxy).verdict).to.equal('pass');
    // Apache and lighttpd pass the probe header on: it names the offload the app chose.
    const viaApache = { expect: 'offload', viaProxy: 'x-sendfile' } as const;
    expect(judgeAppAnswer(streamed, stream, probe, viaApache).verdict).to.equal('pass');
    const wantStream = { expect: 'stream' } as const;
    expect(judgeAppAnswer(answer(200), accel, probe, wantStream).diagnosis).to.equal(
      'app-delivery-unexpected',
    );
  });

  it('check 3: each way the proxy can fail maps to its own diagnosis', function () {
    const ok = answer(200, {}, probe);
    expect(judgePublic(ok, accel, probe, 'nginx').verdict).to.equal('pass');
    expect(judgePublic(refused, accel, probe, 'nginx').diagnosis).to.equal('proxy-unreachable');
    expect(judgePublic(answer(502), accel, probe, 'nginx').diagnosis).to.equal(
      'proxy-cannot-reach-app',
    );
    const appNotFound = answer(
      404,
      { 'content-type': 'text/plain; charset=utf-8' },
      Buffer.from('Not Found'),
    );
    const proxyNotFound = answer(
      404,
      { 'content-type': 'text/html' },
      Buffer.from('<html>404</html>'),
    );
    expect(judgePublic(appNotFound, accel, probe, 'nginx', appNotFound).diagnosis).to.equal(
      'nginx-internal-location-missing',
    );
    expect(judgePublic(proxyNotFound, accel, probe, 'nginx', appNotFound).diagnosis).to.equal(
      'offload-target-not-found',
    );
    expect(judgePublic(answer(403), sendfile, probe, 'lighttpd').diagnosis).to.equal(
      'offload-target-not-found',
    );
    expect(judgePublic(answer(404), stream, probe, 'nginx').diagnosis).to.equal(
      'proxy-not-routing-to-app',
    );
    const stale = answer(200, {}, Buffer.from('old probe'));
    expect(judgePublic(stale, accel, probe, 'nginx').diagnosis).to.equal(
      'proxy-serves-other-bytes',
    );
    expect(judgePublic(answer(200), sendfile, probe, 'lighttpd').diagnosis).to.equal(
      'lighttpd-x-sendfile-off',
    );
  });

  it('an offload header the proxy passed on names the proxy fault, or the backend mismatch', function () {
    const cases = [
      ['x-accel-redirect', 'caddy', 'caddy-handle-response-missing'],
      ['x-accel-redirect', 'apache', 'backend-proxy-mismatch'],
      ['x-sendfile', 'apache', 'apache-xsendfile-off'],
      ['x-sendfile', 'lighttpd', 'lighttpd-x-sendfile-off'],
      ['x-sendfile', 'nginx', 'backend-proxy-mismatch'],
      ['x-sendfile', undefined, 'offload-header-not-handled'],
    ] as const;
    for (const [header, proxy, id] of cases) {
      expect(unhandledOffload(header, proxy), `${header} via ${proxy}`).to.equal(id);
      const leaked = answer(200, { [header]: '/x' });
      expect(judgePublic(leaked, accel, probe, proxy).diagnosis).to.equal(id);
      expect(judgeLeaks([leaked], proxy).diagnosis).to.equal(id);
    }
  });

  it('check 4: a leaked X-Accel-* beside the file is its own diagnosis', function () {
    const withFile = answer(200, { 'x-accel-expires': '60' }, probe);
    expect(judgeLeaks([withFile], 'apache').diagnosis).to.equal('offload-header-leaked');
    expect(judgeLeaks([answer(200, {}, probe)], 'apache').verdict).to.equal('pass');
    expect(judgeLeaks([refused], 'apache').verdict).to.equal('not run');
  });

  it('check 5: only a 206 with the asked Content-Range and bytes holds', function () {
    const part = probe.subarray(1000, 1100);
    expect(
      judgeRange(answer(206, { 'content-range': 'bytes 1000-1099/2048' }, part), probe).verdict,
    ).to.equal('pass');
    expect(judgeRange(answer(200, {}, probe), probe).diagnosis).to.equal('range-not-served');
    const wrong = answer(206, { 'content-range': 'bytes 1000-1099/2048' }, probe.subarray(0, 100));
    expect(judgeRange(wrong, probe).diagnosis).to.equal('range-not-served');
  });

  it('check 6: the probe from a direct request to the target fails; anything else holds', function () {
    expect(judgeInternal(answer(200, {}, probe), probe, '/protected/p').diagnosis).to.equal(
      'internal-location-public',
    );
    expect(judgeInternal(answer(404), probe, '/protected/p').verdict).to.equal('pass');
    expect(judgeInternal(refused, probe, '/protected/p').verdict).to.equal('pass');
  });

  it('check 7: any change from the baseline answer blames the proxy', function () {
    const baseline = answer(200, { 'x-download-probe': 'v=1; delivery=x-sendfile' }, probe);
    expect(judgeSpoof(baseline, baseline, probe).verdict).to.equal('pass');
    const changed = [
      answer(404, baseline.headers, Buffer.from('Not Found')),
      answer(200, {
        'x-download-probe': 'v=1; delivery=x-accel-redirect',
        'x-accel-redirect': '/x',
      }),
      answer(200, { 'x-download-probe': 'v=1; delivery=stream' }, probe),
      refused,
    ];
    for (const spoofed of changed) {
      expect(judgeSpoof(spoofed, baseline, probe).diagnosis).to.equal(
        'proxy-forwards-offload-headers',
      );
    }
  });
});
