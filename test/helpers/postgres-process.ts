// Starts a throwaway PostgreSQL server (Debian's postgresql package) on a free loopback port, run
// as the `postgres` system user (postgres refuses root), with its own data directory; and decides
// what a suite does without one (fail in CI, skip with one line on a laptop).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildTracker, exitOf, readyLine, type Exit } from './child-tracker.ts';
import { freePorts } from './etcd-cluster.ts';

export const POSTGRES_MISSING = 'PostgreSQL not found: apt-get install postgresql to run the PostgreSQL half of the events suites';

const servers = new ChildTracker();

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin/postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** undefined when PostgreSQL is installed; the skip reason on a laptop without it; throws under CI=true. */
export function requirePostgres(): string | undefined {
  if (binDir()) return undefined;
  if (process.env.CI === 'true') throw new Error(`${POSTGRES_MISSING} (CI=true: the PostgreSQL half must run in CI)`);
  return POSTGRES_MISSING;
}

export interface PostgresProcess {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly pid: number;
  kill(signal?: NodeJS.Signals): Promise<Exit>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresProcess> {
  const bin = binDir();
  if (!bin) throw new Error(POSTGRES_MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'coord-pg-'));
  chmodSync(dir, 0o700);
  // As root, run as the postgres user (spawn's uid/gid, so the pid we hold is postgres itself).
  const user: { uid?: number; gid?: number } = process.getuid?.() === 0 ? { uid: Number(spawnSync('id', ['-u', 'postgres']).stdout.toString()), gid: Number(spawnSync('id', ['-g', 'postgres']).stdout.toString()) } : {};
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], { ...user, cwd: dir });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
  const [port] = await freePorts(1);
  let child = await launch();

  async function launch() {
    const c = spawn(join(bin!, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir], { ...user, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    servers.track(c, 'postgres');
    await readyLine(c, /database system is ready to accept connections/, 'postgres', 30000);
    return c;
  }
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    child.kill(signal);
    return exitOf(child);
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    get pid() {
      return child.pid!;
    },
    kill,
    async restart() {
      child = await launch();
    },
    async stop() {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
