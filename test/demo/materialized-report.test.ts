import { expect } from 'chai';
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDemoApp } from '../../demo/app.ts';
import { DEMO_REPORTS_DIR, reportLines, reportsGenerated } from '../../demo/materialized-report.ts';
import { findNginx, startNginx, type RunningNginx } from '../../demo/nginx-proxy.ts';
import type { DownloadViewOptions } from '../../src/index.ts';
import { freePort } from '../../support/s3-server.ts';
import { request } from '../support/http.ts';
import { skipOrFail } from '../support/skip.ts';

// The demo's generated report (`GET /reports/:id`), materialized into demo/files/.generated/.
// Each test uses a report id of its own and removes its copy before and after, so runs of the
// demo or of other tests, which share that directory, neither see nor disturb it.

async function listen(options: DownloadViewOptions): Promise<{ url: string; server: Server }> {
  const server = createDemoApp(options).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const removeCopy = (id: string) =>
  Promise.all(
    [`${id}.csv`, `${id}.csv.materialized.json`].map((name) =>
      rm(join(DEMO_REPORTS_DIR, 'reports', name), { force: true }),
    ),
  );

const expected = (id: string) => Buffer.from([...reportLines(id)].join(''));

describe('demo: a generated report, materialized', () => {
  let server: Server | undefined;
  let nginx: RunningNginx | undefined;
  afterEach(async () => {
    await nginx?.stop();
    nginx = undefined;
    if (server) await close(server);
    server = undefined;
  });

  it('under npm run demo: generated on the first request, the stored copy streamed after', async () => {
    const id = '2098-Q1';
    await removeCopy(id);
    let url: string;
    ({ url, server } = await listen({ backend: 'stream' }));
    const before = reportsGenerated();
    const first = await request(`${url}/reports/${id}.csv`);
    const second = await request(`${url}/reports/${id}.csv`, { headers: { Range: 'bytes=0-16' } });
    expect(first.status).to.equal(200);
    expect(first.body.equals(expected(id))).to.equal(true);
    expect(first.headers['content-disposition']).to.equal(
      `attachment; filename="Sales report ${id}.csv"`,
    );
    expect(second.status).to.equal(206);
    expect(second.body.toString()).to.equal('row,region,amount');
    expect(reportsGenerated() - before).to.equal(1);
    expect((await request(`${url}/reports/../etc.csv`)).status).to.equal(404);
    expect((await request(`${url}/storage/.generated/reports/${id}.csv`)).status).to.equal(404);
    await removeCopy(id);
  });

  it('under npm run demo:nginx: nginx sends it on its second request, and the first', async function () {
    const binary = findNginx();
    if (!binary) return skipOrFail(this, 'nginx is not installed');
    const id = '2099-Q4';
    await removeCopy(id);
    let upstream: string;
    ({ url: upstream, server } = await listen({ backend: 'nginx' }));
    const listenPort = await freePort();
    nginx = await startNginx(binary, {
      listenPort,
      upstreamPort: Number(new URL(upstream).port),
      filesDir: join(DEMO_REPORTS_DIR, '..'),
    });
    const before = reportsGenerated();
    const answers = [];
    for (let i = 0; i < 2; i++)
      answers.push(await request(`http://127.0.0.1:${listenPort}/reports/${id}.csv`));
    const accel = `/protected/.generated/reports/${id}.csv`;
    for (const res of answers) {
      expect(res.status).to.equal(200);
      expect(res.body.equals(expected(id))).to.equal(true);
      // Added by the demo's nginx on answers of its internal location only.
      expect(res.headers['x-demo-offload']).to.equal(accel);
    }
    expect(reportsGenerated() - before).to.equal(1);
    const log = await readFile(nginx.accessLog, 'utf8');
    const lines = log.split('\n').filter((line) => line.startsWith(`GET /reports/${id}.csv 200 `));
    expect(lines).to.have.length(2);
    for (const line of lines) expect(line).to.contain(`accel="${accel}"`);
    await removeCopy(id);
  });
});
