import { accessSync, constants, mkdirSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { delimiter, join } from 'node:path';
import { DataDirError, type DataDirHolder, type DataDirLock } from './data-dir-holder.ts';
import { lockDataDirByFlock } from './data-dir-lock-flock.ts';
import { lockDataDirBySocket } from './data-dir-lock-socket.ts';

export { DataDirError, type DataDirHolder, type DataDirLock } from './data-dir-holder.ts';

export interface DataDirLockOptions {
  /**
   * The flock(1) and sh(1) binaries that hold the lock. Default: `flock` and `sh` found on PATH.
   * `null` (or either missing): the socket fallback, with a process warning.
   */
  tools?: { flock: string; sh: string } | null;
}

/**
 * Takes the data dir for this process, as etcd does with a file lock: a second store on the same
 * dir is refused with one line naming the holder. The lock is a kernel flock(2) on
 * `coord-store.lock` in the dir itself, so it holds across network namespaces, bind mounts and
 * symlinks (it is on the inode); util-linux `flock` holds it for us in a small child process (see
 * data-dir-lock-flock.ts). The older socket lock is taken as well, so a store on this host that
 * has no `flock`, or an older coord, is refused too. Without `flock` (or `sh`) on PATH only the
 * socket lock is taken, with a warning: it does not stop a store in another network namespace or
 * through a bind mount.
 */
export async function lockDataDir(dir: string, options: DataDirLockOptions = {}): Promise<DataDirLock> {
  let real: string;
  try {
    mkdirSync(dir, { recursive: true });
    real = realpathSync(dir);
  } catch (e) {
    // The same words the log uses for a data dir it cannot open.
    throw new DataDirError(`coord store: cannot use data dir ${dir} (${(e as Error).message})`);
  }
  const me: DataDirHolder = { pid: process.pid, host: hostname(), endpoint: '', since: new Date().toISOString() };
  const tools = options.tools === undefined ? findTools() : options.tools;
  if (tools) {
    const byFlock = await lockDataDirByFlock(real, me, tools);
    // The socket too, so a store without flock (or an older coord) on this host is still refused.
    let bySocket: DataDirLock;
    try {
      bySocket = await lockDataDirBySocket(real, me);
    } catch (e) {
      await byFlock.release();
      throw e;
    }
    return {
      setEndpoint: (endpoint) => [byFlock, bySocket].forEach((l) => l.setEndpoint(endpoint)),
      lost: byFlock.lost,
      release: async () => void (await Promise.all([byFlock.release(), bySocket.release()])),
    };
  }
  process.emitWarning(
    `coord store: flock(1) (util-linux) not found on PATH; data dir ${real} is locked with a Unix socket instead, ` +
      'which does not stop a second store in another network namespace (container) or reaching the dir through a bind mount',
    { code: 'COORD_STORE_NO_FLOCK' },
  );
  return lockDataDirBySocket(real, me);
}

function findTools(): { flock: string; sh: string } | null {
  const flock = onPath('flock');
  const sh = onPath('sh');
  return flock && sh ? { flock, sh } : null;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory; try the next
    }
  }
  return undefined;
}
