import { isIP } from 'node:net';

/**
 * True when `listen` (`host:port`, `[v6]:port`) can only be reached from this machine: an IPv4
 * address in 127.0.0.0/8, `::1` (or its IPv4-mapped form) or `localhost`. A wildcard (`0.0.0.0`,
 * `::`) listens on every interface, so it is not; neither is any other host name, whatever it
 * resolves to today.
 */
export function isLoopbackListen(listen: string): boolean {
  const m = /^\[?([^\]]*)\]?:\d+$/.exec(listen);
  const host = (m ? m[1] : listen).toLowerCase();
  if (host === 'localhost') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  if (isIP(host) === 6) return /^(0{0,4}:){2,7}0{0,3}1$/.test(host);
  return false;
}
