// TLS to endpoints named by IP address. grpc-js passes the target's host as the TLS servername
// (SNI); RFC 6066 forbids an IP there, Node warned about it (DEP0123) up to 24, and Node 26
// refuses the connection outright. For an IP target we therefore send a DNS name that stands for
// the address (its reverse-lookup name, `1.0.0.127.in-addr.arpa`) as the servername, and check the
// server's certificate against the addresses themselves, as Go's clientv3 does: the certificate
// must carry one of the endpoints' IPs (or names) as a subject alternative name.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** The host part of `host:port`, `[v6]:port` or `https://host:port`. */
export function endpointHost(endpoint: string): string {
  const hostPort = endpoint.replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');
  const v6 = /^\[([^\]]*)\](?::\d+)?$/.exec(hostPort);
  if (v6) return v6[1];
  const i = hostPort.lastIndexOf(':');
  return i > 0 && hostPort.indexOf(':') === i ? hostPort.slice(0, i) : hostPort;
}

/** The reverse-lookup DNS name of an IP address (`127.0.0.1` → `1.0.0.127.in-addr.arpa`). */
export function reverseName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head, tail = ''] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const full = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const nibbles = full.map((g) => g.padStart(4, '0')).join('');
  return `${[...nibbles].reverse().join('.')}.ip6.arpa`;
}

/**
 * Credentials and channel options for a TLS channel to `endpoints` (one channel over all of them).
 * When the endpoints are IP addresses the servername is the first one's reverse name and a server
 * certificate is accepted when it names any of the endpoints; with a DNS name grpc-js's own
 * handling is kept (servername and check against that name).
 */
export function tlsCredentials(endpoints: readonly string[], tls: TlsMaterial | undefined): { creds: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const hosts = endpoints.map(endpointHost);
  const first = hosts[0] ?? '';
  if (!isIP(first)) {
    return { creds: grpc.credentials.createSsl(tls?.ca ?? null, tls?.key ?? null, tls?.cert ?? null), options: {} };
  }
  const check = (_servername: string, cert: PeerCertificate): Error | undefined => {
    let firstError: Error | undefined;
    for (const host of hosts) {
      const error = checkServerIdentity(host, cert);
      if (!error) return undefined;
      firstError ??= error;
    }
    return firstError;
  };
  return {
    creds: grpc.credentials.createSsl(tls?.ca ?? null, tls?.key ?? null, tls?.cert ?? null, { checkServerIdentity: check }),
    options: { 'grpc.ssl_target_name_override': reverseName(first) },
  };
}
