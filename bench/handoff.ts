// How long a lock and leadership take to move to a waiting instance when the holder stops: after
// SIGTERM (a graceful stop: coord's lifecycle gives them back on the way out; etcd3's user code
// releases / resigns by hand) and after SIGKILL (a crash: the others wait for the lease TTL, which
// is the baseline). The holder is a process of its own; the waiter is a client in this process,
// of the same library, already queued (coord: lock() / campaign() wait in line; etcd3's lock
// cannot wait, so its waiter retries acquire() every 10 ms, as its users write it). Time runs from
// the signal to the waiter holding. Same run, same servers, for coord and the etcd3 npm client.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { connect } from '../src/index.ts';
import { percentile, printTable, sleep } from './lib/harness.ts';
import { etcd3Client, fmtMs, onEachBackend, printMachine, ratio, watchdog, type BackendName } from './lib/backends.ts';

const TTL_S = 3;
const GRACEFUL_ROUNDS = Number(process.env.HANDOFF_ROUNDS ?? 5);
const KILLED_ROUNDS = 2;
const HOLDER = fileURLToPath(new URL('./lib/handoff-holder.ts', import.meta.url));
const RUN_SOURCE = fileURLToPath(new URL('../scripts/run-source.mjs', import.meta.url));

type Client = 'coord' | 'etcd3';
type Kind = 'lock' | 'election';
type Stop = 'SIGTERM' | 'SIGKILL';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.pid !== undefined) killQuietly(c.pid, 'SIGKILL');
});

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Starts a holder and resolves once it holds. */
async function startHolder(endpoint: string, client: Client, kind: Kind, name: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn(process.execPath, ['--import', RUN_SOURCE, HOLDER, endpoint, client, kind, name, String(TTL_S)], { stdio: ['pipe', 'pipe', 'inherit'] });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => l === 'held' && resolve());
    child.once('exit', (code) => reject(new Error(`holder exited (${code}) before holding`)));
  });
  return { child, exited };
}

/** A waiter of the same library, queued now; resolves with performance.now() when it holds. */
function waiter(endpoint: string, client: Client, kind: Kind, name: string): { holding: Promise<number>; close(): Promise<void> } {
  if (client === 'coord') {
    const c = connect({ endpoints: endpoint });
    const held = kind === 'lock' ? c.lock(name, { ttl: TTL_S }) : c.campaign(name, 'waiter', { ttl: TTL_S });
    return { holding: held.then(() => performance.now()), close: () => c.close() };
  }
  const etcd: Etcd3 = etcd3Client(endpoint);
  let closed = false;
  const holding =
    kind === 'lock'
      ? (async () => {
          for (;;) {
            try {
              await etcd.lock(name).ttl(TTL_S).acquire();
              return performance.now();
            } catch (e) {
              if (closed) throw e;
              await sleep(10);
            }
          }
        })()
      : etcd.election(name, TTL_S).campaign('waiter').wait().then(() => performance.now());
  return {
    holding,
    close: async () => {
      closed = true;
      etcd.close();
    },
  };
}

async function round(endpoint: string, client: Client, kind: Kind, stop: Stop, i: number): Promise<number> {
  const name = `handoff-${client}-${kind}-${stop}-${i}`;
  const holder = await startHolder(endpoint, client, kind, name);
  const w = waiter(endpoint, client, kind, name);
  // The waiter must be in line before the signal: give its queue entry / first attempt time to land.
  await sleep(300);
  const sent = performance.now();
  holder.child.kill(stop);
  try {
    return (await w.holding) - sent;
  } finally {
    await holder.exited;
    await w.close();
  }
}

type Cells = Map<string, number[]>;

export async function run(): Promise<void> {
  const dog = watchdog('handoff', 15 * 60_000);
  printMachine();
  console.log(`lease TTL ${TTL_S} s; ${GRACEFUL_ROUNDS} graceful rounds (SIGTERM) and ${KILLED_ROUNDS} killed rounds (SIGKILL) per cell; median of the rounds, ms from the signal to the waiter holding`);
  const results = await onEachBackend(async (server) => {
    const cells: Cells = new Map();
    for (const client of ['coord', 'etcd3'] as const) {
      for (const kind of ['lock', 'election'] as const) {
        for (const stop of ['SIGTERM', 'SIGKILL'] as const) {
          const times: number[] = [];
          for (let i = 0; i < (stop === 'SIGTERM' ? GRACEFUL_ROUNDS : KILLED_ROUNDS); i++) times.push(await round(server.endpoint, client, kind, stop, i));
          cells.set(`${client} ${kind} ${stop}`, times);
          console.log(`  ${client} ${kind} ${stop}: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
        }
      }
    }
    return cells;
  });
  const median = (xs: number[]) => percentile(Float64Array.from(xs).sort(), 50);
  const rows: string[][] = [];
  for (const [backend, cells] of results as Map<BackendName, Cells>) {
    for (const client of ['coord', 'etcd3'] as const) {
      for (const kind of ['lock', 'election'] as const) {
        const graceful = median(cells.get(`${client} ${kind} SIGTERM`)!);
        const killed = median(cells.get(`${client} ${kind} SIGKILL`)!);
        rows.push([backend, client, kind, fmtMs(graceful), fmtMs(killed), ratio(graceful, killed)]);
      }
    }
  }
  printTable(['server', 'client', 'what moves', 'graceful stop (SIGTERM) ms', 'killed (SIGKILL, TTL baseline) ms', 'graceful / killed'], rows);
  console.log('goal: a graceful stop hands over in under 100 ms; a kill cannot beat the lease TTL. Figures from a loaded machine are noisy.');
  dog.clear();
}
