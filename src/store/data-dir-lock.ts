import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';

/** Who holds a data dir, as the holder reports it to a store that wants the same dir. */
export interface DataDirHolder {
  pid: number;
  endpoint: string;
  since: string;
}

export class DataDirError extends Error {
  readonly brand = 'coord.DataDirError' as const;
}

/** A held data-dir lock; `release()` lets another store have the dir. */
export interface DataDirLock {
  /** Called once the store knows its endpoint, so a refused store can name it. */
  setEndpoint(endpoint: string): void;
  release(): Promise<void>;
}

/**
 * Takes the data dir for this process, as etcd does with a file lock: a second store on the same
 * dir is refused with a line naming the holder. Node has no flock, so the lock is a listening Unix
 * socket: the kernel closes it when the holder dies, however it dies, so a killed store never
 * leaves a stale lock, and a live holder answers a connect with its pid and endpoint. On Linux the
 * socket lives in the abstract namespace (no file at all); elsewhere it is a socket file in the
 * dir, and a file nobody listens on is a dead holder's and is replaced.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  let real: string;
  try {
    mkdirSync(dir, { recursive: true });
    real = realpathSync(dir);
  } catch (e) {
    // The same words the log uses for a data dir it cannot open.
    throw new DataDirError(`coord store: cannot use data dir ${dir} (${(e as Error).message})`);
  }
  const path =
    process.platform === 'linux' ? `\0coord-store-lock-${createHash('sha256').update(real).digest('hex').slice(0, 40)}` : join(real, '.coord-store.lock');
  const me: DataDirHolder = { pid: process.pid, endpoint: '', since: new Date().toISOString() };
  const server = createServer((socket) => socket.end(JSON.stringify(me))).unref();
  for (let attempt = 0; ; attempt++) {
    const err = await listen(server, path);
    if (!err) break;
    if (err.code !== 'EADDRINUSE' || attempt > 0) throw new DataDirError(`coord store: cannot lock data dir ${real}: ${err.message}`);
    const holder = await ask(path);
    if (holder) {
      const at = holder.endpoint ? ` serving ${holder.endpoint}` : '';
      throw new DataDirError(`coord store: data dir ${real} is in use by another coord store (pid ${holder.pid}${at}, since ${holder.since})`);
    }
    // A socket file nobody listens on: its store died. (Abstract sockets never get here.)
    rmSync(path, { force: true });
  }
  return {
    setEndpoint: (endpoint) => void (me.endpoint = endpoint),
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
        resolve({ pid: 0, endpoint: 'unknown', since: 'unknown' });
      }
    });
  });
}
