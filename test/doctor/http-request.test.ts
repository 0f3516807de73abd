// The doctor's HTTP client against servers that misbehave on purpose.
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { doctorRequest, DoctorRequestError } from '../../src/doctor/http-request.ts';

async function listen(server: Server): Promise<URL> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('doctor: its HTTP client', function () {
  it('gives up on an answer that never ends, within its deadline', async function () {
    // Headers and one byte, then nothing: an idle timeout would be reset by a drip.
    const server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Length': '2048' });
      res.write('k');
    });
    const url = await listen(server);
    try {
      const error = await doctorRequest({ url, timeoutMs: 300 }).catch((err: unknown) => err);
      expect(error).to.be.instanceOf(DoctorRequestError);
      expect((error as DoctorRequestError).code).to.be.oneOf(['ETIMEDOUT', 'ETRUNCATED']);
    } finally {
      await close(server);
    }
  });

  it('reports a connection closed mid-body as cut short, not as other bytes', async function () {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Length': '2048' });
      res.end();
      res.socket?.destroy();
    });
    const url = await listen(server);
    try {
      const error = await doctorRequest({ url, timeoutMs: 5000 }).catch((err: unknown) => err);
      expect(error).to.be.instanceOf(DoctorRequestError);
    } finally {
      await close(server);
    }
  });

  it('sends the headers it is given, as given', async function () {
    let seen: Record<string, string | string[] | undefined> = {};
    const server = createServer((req, res) => {
      seen = req.headers;
      res.end('ok');
    });
    const url = await listen(server);
    try {
      const answer = await doctorRequest({
        url,
        timeoutMs: 5000,
        headers: { 'X-Sendfile-Type': 'X-Accel-Redirect', Range: 'bytes=1-2' },
      });
      expect(answer.status).to.equal(200);
      expect(answer.body.toString()).to.equal('ok');
      expect(seen).to.include({ 'x-sendfile-type': 'X-Accel-Redirect', range: 'bytes=1-2' });
      expect(seen).not.to.have.property('accept-encoding');
    } finally {
      await close(server);
    }
  });
});
