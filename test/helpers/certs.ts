import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** A second CA that signed nothing the server trusts. */
  otherCa: Buffer;
  otherClientCert: Buffer;
  otherClientKey: Buffer;
}

/**
 * Channel options for a raw grpc-js client to a TLS test server on 127.0.0.1: grpc-js sends the
 * target's host as the TLS servername, and Node 26 refuses an IP address there, so tests name the
 * server by its certificate's DNS name (coord's own client handles IP endpoints itself).
 */
export const TLS_BY_NAME = { 'grpc.ssl_target_name_override': 'localhost' } as const;

/** A throwaway CA, a server cert for 127.0.0.1/localhost (or `serverNames`) and client certs, made with openssl. */
export function makePki(serverNames = 'IP:127.0.0.1,DNS:localhost'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'coord-pki-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    const ca = (name: string) => ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
    const leaf = (name: string, caName: string, ext: string) => {
      writeFileSync(join(dir, `${name}.ext`), ext);
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
    };
    ca('ca');
    ca('other-ca');
    leaf('server', 'ca', `subjectAltName=${serverNames}\nextendedKeyUsage=serverAuth\n`);
    leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
    leaf('other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
    const read = (f: string) => readFileSync(join(dir, f));
    return {
      ca: read('ca.pem'),
      serverCert: read('server.pem'),
      serverKey: read('server.key'),
      clientCert: read('client.pem'),
      clientKey: read('client.key'),
      otherCa: read('other-ca.pem'),
      otherClientCert: read('other-client.pem'),
      otherClientKey: read('other-client.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
