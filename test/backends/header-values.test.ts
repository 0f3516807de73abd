import { expect } from 'chai';
import { offloadPath } from '../../src/backends/header-values.ts';

describe('offloadPath: the header value naming a file for the server that reads it', () => {
  const cases: [string, 'percent' | 'raw', string | undefined][] = [
    ['/srv/a b.txt', 'percent', '/srv/a%20b.txt'],
    ['/srv/a b.txt', 'raw', '/srv/a b.txt'],
    ['/srv/é.txt', 'raw', Buffer.from('/srv/é.txt').toString('latin1')],
    ['/srv/a%41.txt', 'percent', '/srv/a%2541.txt'],
    // security: a server's header parser trims spaces at either end, naming another file
    ['/srv/victim.txt ', 'raw', undefined],
    [' /srv/victim.txt', 'raw', undefined],
    ['/srv/victim.txt ', 'percent', '/srv/victim.txt%20'],
    // security: control characters never reach a header, in any encoding
    ['/srv/a\nb.txt', 'percent', undefined],
    ['/srv/a\r\nX-Evil: 1', 'raw', undefined],
    ['/srv/a\u0085b.txt', 'raw', undefined],
    ['/srv/a\tb.txt', 'raw', undefined],
  ];
  for (const [path, encoding, expected] of cases) {
    it(`${JSON.stringify(path)} ${encoding}: ${expected === undefined ? 'declined' : JSON.stringify(expected)}`, () => {
      expect(offloadPath(path, encoding)).to.equal(expected);
    });
  }
});
