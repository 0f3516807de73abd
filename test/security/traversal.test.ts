import { expect } from 'chai';
import {
  createFixture,
  descriptorsUnder,
  forEachBackend,
  invariantViolations,
  send,
  serverErrors,
  type BackendKind,
  type Endpoint,
  type Fixture,
} from './support/harness.ts';
import { TRAVERSAL, type Expected, type TraversalRow } from './support/traversal-table.ts';

// The traversal table (support/traversal-table.ts) through every backend, behind its real
// proxy. A directory swapped for a link while it is read is the one shape not here: it needs
// a race of its own, in test/storages/filesystem-race.test.ts.

const ROUTES = ['/dl/', '/p/'] as const;

function expected(row: TraversalRow, kind: BackendKind): Expected {
  return row.per?.[kind] ?? row.expect;
}

/** The answer a backend gives for a file it serves: the bytes, or a redirect to its URL. */
function servedAs(kind: BackendKind, route: string): 'bytes' | 'redirect' {
  return kind === 'redirect' && route === '/dl/' ? 'redirect' : 'bytes';
}

function describeExpected(want: Expected, kind: BackendKind, route: string): string {
  if ('refuse' in want) return String(want.refuse);
  return servedAs(kind, route) === 'redirect' ? '302 to its URL' : '200 with its bytes';
}

describe('security: traversal, every hostile name through every backend', function () {
  this.timeout(30_000);
  let fixture: Fixture;
  before(async function () {
    fixture = await createFixture();
  });
  after(async function () {
    await fixture?.cleanup();
  });

  forEachBackend(
    () => fixture,
    (kind, endpoint: () => Endpoint) => {
      afterEach(function () {
        expect(serverErrors(endpoint().app), 'errors reported as 500').to.deep.equal([]);
        endpoint().app.errors.length = 0;
      });

      for (const route of ROUTES) {
        for (const row of TRAVERSAL) {
          const want = expected(row, kind);
          const shown = typeof row.path === 'string' ? row.path : row.what;
          const title = `security: ${row.group}: ${route}${shown.slice(0, 60)} (${row.what}) → ${describeExpected(want, kind, route)}`;
          it(title, async function () {
            const path =
              route + (typeof row.path === 'string' ? row.path : row.path(fixture.deepName));
            const withinMs = row.withinMs ?? 5000;
            const answer = await send(endpoint(), path, { timeoutMs: withinMs });
            expect(invariantViolations(answer), `${kind} ${path.slice(0, 200)}`).to.deep.equal([]);
            if ('refuse' in want) {
              expect(answer.status, 'status').to.equal(want.refuse);
              expect(answer.headers['content-disposition'], 'Content-Disposition').to.equal(
                undefined,
              );
            } else if (servedAs(kind, route) === 'redirect') {
              expect(answer.status, 'status').to.equal(302);
              expect(answer.headers.location, 'Location').to.match(/^\/media\//);
            } else {
              expect([answer.status, answer.body.toString()]).to.deep.equal([200, want.serve]);
            }
            expect(answer.ms, 'answered in time').to.be.below(withinMs);
            expect(endpoint().storage.liveStreams, 'streams left open').to.equal(0);
          });
        }
      }

      it('security: no descriptor under the fixture is left open in the app after the table', async function () {
        expect(await descriptorsUnder(fixture.root)).to.deep.equal([]);
      });
    },
  );
});
