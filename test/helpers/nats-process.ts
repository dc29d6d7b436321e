// Starts a real nats-server with JetStream (`-js`, Debian's nats-server package) on a free
// loopback port, with its own store directory; and decides what a suite does without one (fail in
// CI, skip with one line on a laptop).
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePorts } from './etcd-cluster.ts';
import { ChildTracker, exitOf, readyLine, type Exit } from './child-tracker.ts';

export const NATS_MISSING = 'nats-server not found: apt-get install nats-server to run the NATS JetStream half of the events suites';

const servers = new ChildTracker();

export interface NatsProcess {
  /** `127.0.0.1:port` for clients. */
  readonly endpoint: string;
  readonly pid: number;
  /** SIGKILL (or `signal`) and wait for the exit; the store directory is kept for a restart. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
  /** Starts the server again on the same port and store directory. */
  restart(): Promise<void>;
  /** Stops the server and removes its store directory. */
  stop(): Promise<void>;
}

function natsBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat('/usr/sbin', '/usr/bin')) {
    try {
      accessSync(join(dir, 'nats-server'), constants.X_OK);
      return join(dir, 'nats-server');
    } catch {
      // not here
    }
  }
  return undefined;
}

/** undefined when nats-server is installed; the skip reason on a laptop without it; throws under CI=true. */
export function requireNats(): string | undefined {
  if (natsBinary()) return undefined;
  if (process.env.CI === 'true') throw new Error(`${NATS_MISSING} (CI=true: the NATS half must run in CI)`);
  return NATS_MISSING;
}

export async function startNats(): Promise<NatsProcess> {
  const bin = natsBinary();
  if (!bin) throw new Error(NATS_MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'coord-nats-'));
  const [port] = await freePorts(1);
  let child = await launch();

  async function launch() {
    const c = spawn(bin!, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.track(c, 'nats-server');
    await readyLine(c, /Server is ready/, 'nats-server', 20000);
    return c;
  }

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    child.kill(signal);
    return exitOf(child);
  };
  return {
    endpoint: `127.0.0.1:${port}`,
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
