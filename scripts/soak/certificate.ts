import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A self-signed certificate for 127.0.0.1, and its key, both PEM. */
export interface SelfSigned {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/**
 * Makes a throwaway certificate with openssl, valid one day for 127.0.0.1 and localhost, so
 * HTTP/2 runs over TLS as browsers speak it (they offer no cleartext HTTP/2). Clients trust it
 * by passing it as their `ca`, never by turning verification off.
 */
export async function makeSelfSigned(dir: string): Promise<SelfSigned> {
  const certFile = join(dir, 'soak-cert.pem');
  const keyFile = join(dir, 'soak-key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key, certFile, keyFile };
}
