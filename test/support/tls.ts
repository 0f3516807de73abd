import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway certificate for 127.0.0.1 and localhost, and its key, both PEM. */
export interface TestCertificate {
  cert: string;
  key: string;
}

let made: TestCertificate | undefined;

/**
 * The test run's self-signed certificate, made once per process with openssl (an EC key, valid
 * one day). Clients trust it as their only authority (`ca`), so verification stays on.
 * @example
 * const { key, cert } = testCertificate();
 * createSecureServer({ key, cert, allowHTTP1: true }, app.callback());
 */
export function testCertificate(): TestCertificate {
  return (made ??= makeCertificate());
}

function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'kdv-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    // Synchronous: serve() and the request helper need it before their first await.
    execFileSync(
      'openssl',
      [
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ['-days', '1', '-subj', '/CN=127.0.0.1'],
        ['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
        ['-keyout', keyFile, '-out', certFile],
      ].flat(),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } catch (error) {
    const reason = `TRANSPORT=h2 needs openssl to make the test certificate`;
    throw new Error(reason, { cause: error });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
