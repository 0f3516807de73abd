import type Router from '@koa/router';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { materialize, VirtualFile } from '../src/index.ts';
import { FileSystemStorage } from '../storages/filesystem.ts';
import { DEMO_FILES } from './storages.ts';

/**
 * Where the demo keeps its generated reports: inside demo/files/, the directory every proxy of
 * the demo serves, so the app-wide `/storage/` rule offloads them (nginx, Caddy, Apache,
 * lighttpd). Its name starts with a dot, so the `/storage/` route itself refuses it (dotfiles
 * are denied): the copies are reached only through the report route and its checks.
 */
export const DEMO_REPORTS_DIR = join(DEMO_FILES, '.generated');

const reports = new FileSystemStorage({
  location: DEMO_REPORTS_DIR,
  baseUrl: '/storage/.generated/',
});

/** Report ids the demo knows: a quarter, `2026-Q3`. */
const REPORT_ID = /^20\d\d-Q[1-4]$/;
const ROWS = 5000;

let generated = 0;

/**
 * How many reports this process generated: the second request for one is served from its
 * stored copy and does not count.
 */
export function reportsGenerated(): number {
  return generated;
}

/**
 * The rows of a report, the same for one id every time (a key names one content for ever):
 * a few thousand sales lines from a small linear congruential generator seeded by the id.
 *
 * @example
 * reportLines('2026-Q3').next();
 */
export function* reportLines(id: string): Generator<string> {
  let seed = [...id].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) >>> 0, 7);
  yield 'row,region,amount\n';
  for (let row = 1; row <= ROWS; row++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const region = ['north', 'south', 'east', 'west'][seed % 4];
    yield `${row},${region},${(seed % 100_000) / 100}\n`;
  }
}

/** The report as the app generates it: lines in chunks, pausing as a slow query would. */
async function* generateReport(id: string): AsyncGenerator<string> {
  let chunk = '';
  let lines = 0;
  for (const line of reportLines(id)) {
    chunk += line;
    if (++lines % 500 === 0) {
      yield chunk;
      chunk = '';
      await tick();
    }
  }
  if (chunk) yield chunk;
}

/**
 * `GET /reports/:id`: a generated sales report, materialized on its first request into
 * demo/files/.generated/ and served from there afterwards; under `npm run demo:nginx` nginx
 * sends it (its access log shows `accel="/protected/.generated/reports/…"`).
 *
 * @example
 * materializedReportRoutes(router);
 */
export function materializedReportRoutes(router: Router): void {
  router.get('/reports/:id', async (ctx) => {
    const id = (ctx.params['id'] ?? '').replace(/\.csv$/, '');
    if (!REPORT_ID.test(id)) ctx.throw(404, 'no such report');
    ctx.body = await materialize({
      storage: reports,
      key: `reports/${id}.csv`,
      generate: () => {
        generated++;
        return new VirtualFile(generateReport(id), { name: `Sales report ${id}.csv` });
      },
    });
  });
}
