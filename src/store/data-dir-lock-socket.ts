import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { DataDirError, holderText, type DataDirHolder, type DataDirLock } from './data-dir-holder.ts';

/**
 * The fallback data-dir lock, for hosts without flock(1): a listening Unix socket, which the
 * kernel closes when the holder dies, however it dies, and a live holder answers a connect with its
 * pid and endpoint. On Linux the socket lives in the abstract namespace, which is per network
 * namespace and keyed by the path string: it does not stop a store in another network namespace
 * (another container on the same volume) or one reaching the dir through a bind mount. Elsewhere it
 * is a socket file in the dir, and a file nobody listens on is a dead holder's and is replaced.
 */
export async function lockDataDirBySocket(real: string, me: DataDirHolder): Promise<DataDirLock> {
  const path =
    process.platform === 'linux' ? `\0coord-store-lock-${createHash('sha256').update(real).digest('hex').slice(0, 40)}` : join(real, '.coord-store.lock');
  const server = createServer((socket) => socket.end(JSON.stringify(me))).unref();
  for (let attempt = 0; ; attempt++) {
    const err = await listen(server, path);
    if (!err) break;
    if (err.code !== 'EADDRINUSE' || attempt > 0) throw new DataDirError(`coord store: cannot lock data dir ${real}: ${err.message}`);
    const holder = await ask(path);
    if (holder) {
      throw new DataDirError(`coord store: data dir ${real} is in use by another coord store (${holderText(holder)})`);
    }
    // A socket file nobody listens on: its store died. (Abstract sockets never get here.)
    rmSync(path, { force: true });
  }
  return {
    setEndpoint: (endpoint) => void (me.endpoint = endpoint),
    lost: new Promise<Error>(() => {}), // a listening socket cannot be taken away
    release: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (!path.startsWith('\0')) rmSync(path, { force: true });
      }),
  };
}

function listen(server: Server, path: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (e: NodeJS.ErrnoException) => resolve(e);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve(undefined);
    });
  });
}

/** The holder's answer; undefined when nobody listens. A listener that does not answer in a second still holds the dir. */
function ask(path: string): Promise<DataDirHolder | undefined> {
  return new Promise((resolve) => {
    const socket = connect(path);
    let connected = false;
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 1000);
    socket.setEncoding('utf8');
    socket.on('connect', () => (connected = true));
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      if (!connected) return resolve(undefined);
      try {
        resolve(JSON.parse(text) as DataDirHolder);
      } catch {
        resolve({ pid: 0, host: 'unknown', endpoint: 'unknown', since: 'unknown' });
      }
    });
  });
}
