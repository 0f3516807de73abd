// The doctor against each real proxy: once with the configuration published in docs/proxies/,
// then once per classic break, each derived from the published text by one explicit edit.
import { expect } from 'chai';
import {
  runDoctor,
  type DiagnosisId,
  type DoctorReport,
  type Expectation,
} from '../../src/index.ts';
import { requireBinary } from '../integration/support/require-binary.ts';
import type { ProxyKind } from '../integration/support/proxies.ts';
import { edit, PROBE_NAME, startDeployment, type AppMode } from './support/deployment.ts';

/** One broken variant of a published configuration, and what the doctor must call it. */
interface Break {
  readonly name: string;
  readonly mode: AppMode;
  readonly editConfig: (template: string) => string;
  readonly diagnosis: DiagnosisId;
}

/**
 * The classic breaks, per proxy. Where a break has no equivalent the entry says so:
 * - "not marked internal" is nginx's alone: Apache and lighttpd offload by file path (no URL
 *   location exists), and Caddy serves files only inside `handle_response`, which a client's
 *   URL never enters.
 * - "internal location missing" is, for the others, the proxy not acting on the header at all:
 *   Caddy without its `handle_response` block, lighttpd without `"x-sendfile" => "enable"`
 *   (for Apache that is the "mod_xsendfile not enabled" break).
 * - "mod_xsendfile not enabled" is Apache's alone.
 */
const BREAKS: Record<ProxyKind, readonly Break[]> = {
  nginx: [
    {
      name: 'the internal location missing',
      mode: 'named',
      editConfig: edit(/ {4}location \/protected\/ \{[\s\S]*?\n {4}\}\n/, ''),
      diagnosis: 'nginx-internal-location-missing',
    },
    {
      name: 'the internal location not marked internal',
      mode: 'named',
      editConfig: edit('internal;\n      alias', 'alias'),
      diagnosis: 'internal-location-public',
    },
    {
      name: 'a wrong alias',
      mode: 'named',
      editConfig: edit('alias "{{FILES_DIR}}/";', 'alias "{{FILES_DIR}}/elsewhere/";'),
      diagnosis: 'offload-target-not-found',
    },
    {
      name: "auto's header-clearing lines removed",
      mode: 'auto',
      editConfig: edit(
        /\n {6}proxy_set_header X-Sendfile-Type X-Accel-Redirect;\n {6}proxy_set_header X-Accel-Mapping [^\n]*;/,
        '',
      ),
      diagnosis: 'proxy-forwards-offload-headers',
    },
  ],
  apache: [
    {
      name: 'mod_xsendfile not enabled',
      mode: 'named',
      editConfig: (template) =>
        edit(
          /\n {2}XSendFile On\n {2}# [^\n]*\n {2}XSendFilePath [^\n]*/,
          '',
        )(edit(/\nLoadModule xsendfile_module [^\n]*/, '')(template)),
      diagnosis: 'apache-xsendfile-off',
    },
    {
      name: 'a wrong XSendFilePath',
      mode: 'named',
      editConfig: edit('XSendFilePath "{{FILES_DIR}}"', 'XSendFilePath "{{FILES_DIR}}/elsewhere"'),
      diagnosis: 'offload-target-not-found',
    },
    {
      name: "auto's header-clearing lines removed",
      mode: 'auto',
      editConfig: edit(
        /\n {2}RequestHeader set X-Sendfile-Type [^\n]*\n {2}RequestHeader set X-Accel-Mapping [^\n]*/,
        '',
      ),
      diagnosis: 'proxy-forwards-offload-headers',
    },
  ],
  lighttpd: [
    {
      name: 'X-Sendfile not enabled (the header leaks through)',
      mode: 'named',
      editConfig: edit('\n  "x-sendfile" => "enable",', ''),
      diagnosis: 'lighttpd-x-sendfile-off',
    },
    {
      name: 'a wrong x-sendfile-docroot',
      mode: 'named',
      editConfig: edit('( "{{FILES_DIR}}" )', '( "{{FILES_DIR}}/elsewhere" )'),
      diagnosis: 'offload-target-not-found',
    },
    {
      name: "auto's header-clearing lines removed",
      mode: 'auto',
      editConfig: edit(/\nsetenv\.set-request-header = \([\s\S]*?\n\)\n/, '\n'),
      diagnosis: 'proxy-forwards-offload-headers',
    },
  ],
  caddy: [
    {
      name: 'the handle_response block missing (the header leaks through)',
      mode: 'named',
      editConfig: edit(
        /\t\t@offload header X-Accel-Redirect \*\n\t\thandle_response @offload \{[\s\S]*?\n\t\t\}\n/,
        '',
      ),
      diagnosis: 'caddy-handle-response-missing',
    },
    {
      name: 'a wrong root',
      mode: 'named',
      editConfig: edit('root * "{{FILES_DIR}}"', 'root * "{{FILES_DIR}}/elsewhere"'),
      diagnosis: 'offload-target-not-found',
    },
    {
      name: "auto's header-clearing lines removed",
      mode: 'auto',
      editConfig: edit(/\n\t\theader_up -X-Sendfile-Type\n\t\theader_up -X-Accel-Mapping/, ''),
      diagnosis: 'proxy-forwards-offload-headers',
    },
  ],
};

async function doctorOn(
  kind: ProxyKind | undefined,
  mode: AppMode,
  editConfig?: (template: string) => string,
  expectation?: Expectation,
  internal?: (filesDir: string) => string,
): Promise<DoctorReport> {
  const deployment = await startDeployment(kind, mode, editConfig);
  try {
    const { appUrl, publicUrl, filesDir } = deployment;
    return await runDoctor({
      app: appUrl,
      public: publicUrl,
      timeoutMs: 10000,
      expect: expectation,
      internal: internal?.(filesDir),
    });
  } finally {
    await deployment.stop();
  }
}

function failures(report: DoctorReport): string {
  return report.checks
    .filter((check) => check.verdict !== 'pass' && check.verdict !== 'n/a')
    .map((check) => `${check.id}: ${check.verdict} ${check.detail}`)
    .join('\n');
}

function expectAllHold(report: DoctorReport): void {
  expect(failures(report), 'failed checks').to.equal('');
  expect(report.ok).to.equal(true);
  expect(report.diagnoses).to.deep.equal([]);
}

for (const kind of ['nginx', 'apache', 'lighttpd', 'caddy'] as const) {
  describe(`doctor: behind ${kind}`, function () {
    this.timeout(60000);
    before(function () {
      requireBinary(this, kind);
    });

    it('every check holds with the documented config and the app offloading to it', async function () {
      const deployment = await startDeployment(kind, 'named');
      try {
        const { appUrl, publicUrl } = deployment;
        const report = await runDoctor({ app: appUrl, public: publicUrl, timeoutMs: 10000 });
        expectAllHold(report);
        expect(report.proxy).to.equal(kind);
        const header = kind === 'nginx' || kind === 'caddy' ? 'x-accel-redirect' : 'x-sendfile';
        expect(report.delivery).to.equal(header);
        expect(report.checks.find((check) => check.id === 'internal')?.verdict).to.equal('pass');
        // Check 8: every check that sent a request says how long it took.
        const timed = report.checks.filter((check) => !['app-answer', 'leaks'].includes(check.id));
        expect(timed.filter((check) => !(check.ms > 0)).map((check) => check.id)).to.deep.equal([]);
        // The probe shows a client nothing of the server: no path in any header it gets.
        const response = await fetch(publicUrl);
        const values = [...response.headers.values()];
        expect(values.filter((value) => value.includes(deployment.filesDir))).to.deep.equal([]);
        expect(response.headers.get('x-download-probe') ?? 'v=1; delivery=x-sendfile').to.match(
          /^v=1; delivery=[a-z-]+$/,
        );
      } finally {
        await deployment.stop();
      }
    });

    // The target the published config's auto mapping gives the probe (nginx: its internal
    // location; Apache, lighttpd: the file's path). Caddy sends no X-Sendfile-Type: auto streams.
    const autoTarget =
      kind === 'caddy'
        ? undefined
        : (filesDir: string) =>
            kind === 'nginx' ? `/protected/${PROBE_NAME}` : `${filesDir}/${PROBE_NAME}`;

    it("every check holds with the documented config and backend 'auto', given --internal", async function () {
      const expectation = kind === 'caddy' ? 'stream' : 'offload';
      const report = await doctorOn(kind, 'auto', undefined, expectation, autoTarget);
      expectAllHold(report);
      // auto streams a request no proxy configured (the doctor's own, to the app).
      expect(report.delivery).to.equal('stream');
      const internal = report.checks.find((check) => check.id === 'internal');
      expect(internal?.verdict).to.equal(kind === 'caddy' ? 'n/a' : 'pass');
    });

    if (kind !== 'caddy') {
      it("under backend 'auto' without --internal, says the internal check did not run (exit 1)", async function () {
        const report = await doctorOn(kind, 'auto', undefined, 'offload');
        expect(report.ok).to.equal(false);
        const internal = report.checks.find((check) => check.id === 'internal');
        expect(internal?.verdict).to.equal('not run');
        expect(internal?.detail).to.match(/--internal/);
      });
    }

    if (kind === 'nginx') {
      it("under backend 'auto' with --internal, names a location not marked internal", async function () {
        const report = await doctorOn(
          kind,
          'auto',
          edit('internal;\n      alias', 'alias'),
          'offload',
          autoTarget,
        );
        expect(report.diagnoses.map((found) => found.id)).to.include('internal-location-public');
      });
    }

    for (const broken of BREAKS[kind]) {
      it(`names ${broken.name} as ${broken.diagnosis}`, async function () {
        const report = await doctorOn(kind, broken.mode, broken.editConfig);
        expect(report.ok).to.equal(false);
        const ids = report.diagnoses.map((found) => found.id);
        expect(ids, failures(report)).to.include(broken.diagnosis);
        expect(report.diagnoses.find((found) => found.id === broken.diagnosis)?.layer).to.equal(
          'proxy',
        );
      });
    }
  });
}

describe("doctor: backend 'auto' behind Caddy", function () {
  before(function () {
    requireBinary(this, 'caddy');
  });

  it('with --expect offload, names the app that streams (Caddy configures no offload)', async function () {
    const report = await doctorOn('caddy', 'auto', undefined, 'offload');
    expect(report.diagnoses.map((found) => [found.id, found.layer])).to.deep.equal([
      ['app-delivery-unexpected', 'app'],
    ]);
  });
});

describe('doctor: no proxy', function () {
  it('every check holds when the app streams and is itself public', async function () {
    const report = await doctorOn(undefined, 'stream');
    expectAllHold(report);
    expect(report.delivery).to.equal('stream');
    expect(report.checks.find((check) => check.id === 'internal')?.verdict).to.equal('n/a');
  });
});
