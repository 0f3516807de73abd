import { expect } from 'chai';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { DemoLink, DemoProxy } from '../../demo/catalogue.ts';
import { visibleLinks } from '../../demo/home-page.ts';
import { findNginx } from '../../demo/nginx-proxy.ts';
import { DEMO_FILES } from '../../demo/storages.ts';
import { reportLines } from '../../demo/materialized-report.ts';
import { skipOrFail } from '../support/skip.ts';
import { chromiumMissing, launchChromium } from './chromium.ts';
import { startDemoProcess, type DemoProcess } from './demo-process.ts';

// The demo a person clicks through, clicked through by headless Chromium: once as
// `npm run demo` starts it, once behind the real nginx as `npm run demo:nginx` starts it.

const RESULTS = resolve('test-results');

/** The part of HTMLVideoElement the test uses (the project's types have no DOM library). */
interface VideoElement {
  muted: boolean;
  currentTime: number;
  play(): Promise<void>;
  addEventListener(type: string, listener: () => void, options: { once: boolean }): void;
}
const onDisk = (name: string) => () => readFile(join(DEMO_FILES, name));
const text = (value: string) => async () => Buffer.from(value);

/** The bytes each download link must save, by its href. */
const EXPECTED: Record<string, () => Promise<Buffer>> = {
  '/storage/hello.txt': onDisk('hello.txt'),
  '/storage/reports/résumé 2026.csv': onDisk('reports/résumé 2026.csv'),
  // Sent as sales-2026.csv.br with Content-Encoding: br; the browser saves the decoded CSV.
  '/compressed/reports/sales-2026.csv': onDisk('reports/sales-2026.csv'),
  '/memory/big.bin': async () => Buffer.from(Array.from({ length: 4 << 20 }, (_, i) => i % 251)),
  '/s3/exports/Übersicht 2026 — 報告.csv': onDisk('reports/résumé 2026.csv'),
  '/tar/notes/Notes de version 1.2 — 日本語.txt': text(
    'Notes de version — één archief, 一个归档.\n',
  ),
  '/path/hello.txt': onDisk('hello.txt'),
  '/virtual/hello.txt': text('Hello!\n'),
  '/virtual/numbers.csv': text(
    `n,square\n${Array.from({ length: 1000 }, (_, i) => `${i + 1},${(i + 1) ** 2}\n`).join('')}`,
  ),
  '/invoices/1': text('Invoice 2026-001\nAda Lovelace\nTotal: 42 EUR\n'),
  '/http/hello.txt': onDisk('hello.txt'),
  '/reports/2026-Q3.csv': async () => Buffer.from([...reportLines('2026-Q3')].join('')),
  '/redirect/hello.txt': onDisk('hello.txt'),
  '/auto/hello.txt': onDisk('hello.txt'),
  '/nginx/hello.txt': onDisk('hello.txt'),
};

interface Mode {
  script: string;
  command: string;
  env?: Record<string, string>;
  proxy?: DemoProxy;
  screenshot: string;
  /** Who the "last downloads" panel names for the downloads clicked. */
  servedBy: string;
}

const MODES: Mode[] = [
  {
    script: 'demo/server.ts',
    command: 'npm run demo',
    screenshot: 'demo-home.png',
    servedBy: 'Koa',
  },
  {
    script: 'demo/server.ts',
    command: 'DEMO_BACKEND=redirect npm run demo',
    env: { DEMO_BACKEND: 'redirect' },
    screenshot: 'demo-home-redirect.png',
    servedBy: 'S3 (presigned URL)',
  },
  {
    script: 'demo/nginx.ts',
    command: 'npm run demo:nginx',
    proxy: 'nginx',
    screenshot: 'demo-home-nginx.png',
    servedBy: 'nginx',
  },
];

/** Links a browser can save in this mode: a per-route proxy header only with that proxy. */
function savable(proxy: DemoProxy | undefined): DemoLink[] {
  const context = { backend: '', proxy, s3: 'running' };
  return visibleLinks(context).filter(
    (link) => link.outcome === 'download' && (!link.needs || link.needs === proxy),
  );
}

/** Clicks the link whose text is `href` and returns the download it starts. */
async function clickDownload(page: Page, href: string) {
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 10_000 }).catch((err: Error) => {
      throw new Error(`${href}: no download started: ${err.message}`);
    }),
    page.getByRole('link', { name: href, exact: true }).click(),
  ]);
  const failure = await download.failure();
  if (failure) throw new Error(`${href}: download failed: ${failure}`);
  return { name: download.suggestedFilename(), bytes: await readFile((await download.path())!) };
}

for (const mode of MODES) {
  describe(`the demo in Chromium (${mode.command})`, function () {
    this.timeout(60_000);
    let demo: DemoProcess | undefined;
    let browser: { context: BrowserContext; close(): Promise<void> } | undefined;
    let page: Page;

    before(async function () {
      const missing = chromiumMissing();
      if (missing) return skipOrFail(this, missing);
      if (mode.proxy === 'nginx' && !findNginx()) return skipOrFail(this, 'nginx is not installed');
      demo = await startDemoProcess(mode.script, mode.env);
      browser = await launchChromium();
      page = await browser.context.newPage();
    });

    after(async () => {
      await browser?.close();
      await demo?.stop();
    });

    it('renders the home page with every link, and keeps a screenshot', async () => {
      const response = await page.goto(demo!.url);
      expect(response?.status()).to.equal(200);
      expect(await page.locator('h1').textContent()).to.equal('koa-downloadview demo');
      const setup = await page.locator('.setup').textContent();
      expect(setup).to.contain(mode.proxy ? 'nginx in front' : 'no proxy in front');
      expect(setup).to.contain('embedded S3 server at http://127.0.0.1:');
      for (const link of visibleLinks({ backend: '', proxy: mode.proxy, s3: 'on' })) {
        await page.getByRole('link', { name: link.href, exact: true }).waitFor();
      }
      await mkdir(RESULTS, { recursive: true });
      const path = join(RESULTS, mode.screenshot);
      await page.screenshot({ path, fullPage: true });
      console.log(`      screenshot of the home page: ${path}`);
    });

    it('saves each download link under its suggested (Unicode) name with the right bytes', async () => {
      const links = savable(mode.proxy);
      expect(links.length).to.be.greaterThan(10);
      for (const link of links) {
        const expected = EXPECTED[link.href];
        if (!expected) throw new Error(`no expected bytes for ${link.href}: add them to EXPECTED`);
        const saved = await clickDownload(page, link.href);
        expect(saved.name, link.href).to.equal(link.filename);
        expect(saved.bytes.equals(await expected()), `${link.href}: bytes`).to.equal(true);
      }
    });

    it('shows who served the last downloads in its panel', async () => {
      await page.reload();
      const panel = page.frameLocator('iframe[title="Last downloads"]');
      await panel.getByText(mode.servedBy, { exact: true }).first().waitFor({ timeout: 10_000 });
      const path = join(RESULTS, mode.screenshot.replace('home', 'served'));
      await page.locator('section.served').screenshot({ path });
      console.log(`      screenshot of the "last downloads" panel: ${path}`);
    });

    it('opens the inline link in the page and shows the refusal of another owner’s invoice', async () => {
      const inline = await page.goto(new URL('/inline/data.json', demo!.url).href);
      expect(inline?.status()).to.equal(200);
      expect(JSON.parse(await inline!.text())).to.deep.equal(
        JSON.parse(await readFile(join(DEMO_FILES, 'data.json'), 'utf8')),
      );
      const refused = await page.goto(new URL('/invoices/2', demo!.url).href);
      expect(refused?.status()).to.equal(403);
      await page.goto(demo!.url);
    });

    it('plays and seeks the streamed video with the browser’s own Range requests', async () => {
      // The home page's earlier visits preloaded the video's metadata: start from an empty
      // cache, so that what plays now is fetched now.
      const cdp = await browser!.context.newCDPSession(page);
      await cdp.send('Network.clearBrowserCache');
      const before = demo!.lines().length;
      await page.goto(demo!.url);
      const video = page.locator('video');
      await video.evaluate(async (element: VideoElement) => {
        element.muted = true;
        await element.play();
      });
      await page.waitForFunction("document.querySelector('video').currentTime > 0.5");
      const seeked = await video.evaluate(
        (element: VideoElement) =>
          new Promise<number>((done) => {
            element.addEventListener('seeked', () => done(element.currentTime), { once: true });
            element.currentTime = 4;
          }),
      );
      expect(seeked).to.be.closeTo(4, 0.1);
      await page.waitForFunction("document.querySelector('video').currentTime > 4.2");
      const ranges = demo!
        .lines()
        .slice(before)
        .filter((line) => /^GET \/video\/clip\.webm range=bytes=\d+-\d* → 206 by Koa/.test(line));
      expect(ranges, demo!.lines().slice(before).join('\n')).to.not.be.empty;
      console.log(
        `      Range requests answered 206 while playing and seeking:\n        ${ranges.join('\n        ')}`,
      );
    });

    if (mode.env?.['DEMO_BACKEND'] === 'redirect') {
      it('sent the S3 download to a presigned URL, and streamed the others', () => {
        const lines = demo!.lines();
        const logged = (pattern: RegExp) => lines.some((line) => pattern.test(line));
        const s3 = '/s3/exports/Übersicht 2026 — 報告.csv';
        expect(logged(new RegExp(`^GET ${s3} range=- → 302 by S3 \\(presigned URL\\)`))).to.equal(
          true,
        );
        expect(logged(/^GET \/storage\/hello\.txt range=- → 200 by Koa/)).to.equal(true);
      });
    }

    if (mode.proxy === 'nginx') {
      it('left the offloaded downloads to nginx (X-Accel-Redirect in its access log)', async () => {
        const log = await readFile(demo!.accessLog!, 'utf8');
        const served = (path: string) =>
          log.split('\n').find((line) => line.startsWith(`GET ${encodeURI(path)} 200 `));
        expect(served('/storage/hello.txt')).to.contain('accel="/protected/hello.txt"');
        expect(served('/storage/reports/résumé 2026.csv')).to.contain(
          'accel="/protected/reports/r%C3%A9sum%C3%A9%202026.csv"',
        );
        expect(served('/auto/hello.txt')).to.contain('accel="/protected/hello.txt"');
        // The generated report: its stored copy, written on the first request.
        expect(served('/reports/2026-Q3.csv')).to.contain(
          'accel="/protected/.generated/reports/2026-Q3.csv"',
        );
        // Chromium accepts br: nginx was handed the precompressed sibling.
        expect(served('/compressed/reports/sales-2026.csv')).to.contain(
          'accel="/protected/reports/sales-2026.csv.br"',
        );
        // S3 objects: nginx fetched the presigned URL itself, a second upstream after the app.
        expect(served('/s3/exports/Übersicht 2026 — 報告.csv')).to.match(
          /upstreams="127\.0\.0\.1:\d+ : 127\.0\.0\.1:\d+"/,
        );
        expect(log).to.match(/^GET \/video\/clip\.webm 206 \d+ range="bytes=\d+-\d*" accel="-"/m);
      });
    }
  });
}
