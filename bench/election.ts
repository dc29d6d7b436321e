// Leader failover after kill -9: candidates are separate processes campaigning with a 2 s TTL; the
// bench kills the leader by pid and times kill → new leader, both as the new leader reports it on
// stdout and as a separate observer (coord observe() in this process) sees it. The baseline is
// the TTL itself: a crashed leader cannot be replaced before its lease runs out.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, type Coord } from '../src/index.ts';
import { percentile, printTable, sleep, within } from './lib/harness.ts';
import { fmtMs, onEachBackend, printMachine, ratio, watchdog, type BackendName } from './lib/backends.ts';

const TTL_S = 2;
const ROUNDS = 20;
/** Live candidates before each kill: the leader and two in line. */
const CANDIDATES = 3;
const ELECTION = 'bench-failover';
const CANDIDATE_SCRIPT = fileURLToPath(new URL('./lib/election-candidate.ts', import.meta.url));

interface Candidate {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  /** Resolves with performance.now() when this process reports it was elected. */
  readonly elected: Promise<number>;
  /** Resolves with its exit; never rejects. */
  readonly exited: Promise<void>;
}

interface Run {
  /** kill → new leader's own "elected" line, ms. */
  reported: number[];
  /** kill → observer sees a different leader, ms. */
  observed: number[];
  failures: number;
}

const live = new Set<Candidate>();
// 'exit' listeners cannot await: kill synchronously so no candidate outlives an interrupted bench.
process.on('exit', () => {
  for (const c of live) killQuietly(c.pid);
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function spawnCandidate(endpoint: string): Candidate {
  const child = spawn(process.execPath, ['--import', 'tsx', CANDIDATE_SCRIPT, endpoint, ELECTION, String(TTL_S)], { stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error('could not spawn an election candidate');
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2048)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const line = (pattern: RegExp) =>
    new Promise<number>((resolve, reject) => {
      lines.on('line', (l) => pattern.test(l) && resolve(performance.now()));
      void exited.then(() => reject(new Error(`candidate ${child.pid} exited (${child.exitCode ?? child.signalCode}) before /${pattern.source}/:\n${stderr}`)));
    });
  const ready = line(/^ready$/).then(() => undefined);
  const elected = line(/^elected /);
  ready.catch(() => {});
  elected.catch(() => {});
  const c: Candidate = { pid: child.pid, child, ready, elected, exited };
  live.add(c);
  void exited.then(() => live.delete(c));
  return c;
}

async function stopCandidate(c: Candidate): Promise<void> {
  killQuietly(c.pid);
  await c.exited;
}

export async function run(): Promise<void> {
  const dog = watchdog('election', 5 * 60_000);
  printMachine();
  console.log(`${ROUNDS} kill -9 failovers per backend; candidates are separate node processes (${CANDIDATES} live before each kill), campaign TTL ${TTL_S} s`);
  const results = await onEachBackend(async (server) => {
    const observer = connect({ endpoints: server.endpoint });
    try {
      return await measure(server.endpoint, observer);
    } finally {
      await Promise.all([...live].map(stopCandidate));
      observer.close();
    }
  });
  dog.clear();
  print(results);
}

async function measure(endpoint: string, observer: Coord): Promise<Run> {
  const prefix = `${observer.electionPrefix(ELECTION)}/`;
  const inLine = async () => (await observer.etcd.range(prefix, { prefix: true, countOnly: true })).count;
  const stopObserving = new AbortController();
  const leaderChanges: Array<{ at: number; key: string | undefined }> = [];
  const observing = (async () => {
    for await (const l of observer.observe(ELECTION, stopObserving.signal)) leaderChanges.push({ at: performance.now(), key: l?.key });
  })().catch(() => {});

  const candidates: Candidate[] = [];
  const spawnReady = async () => {
    const c = spawnCandidate(endpoint);
    candidates.push(c);
    await within(30_000, `candidate ${c.pid} starting`, c.ready);
    return c;
  };
  const run: Run = { reported: [], observed: [], failures: 0 };
  try {
    for (let i = 0; i < CANDIDATES; i++) await spawnReady();
    let leader = await within(30_000, 'first election', Promise.race(candidates.map((c) => c.elected.then(() => c))));
    for (let round = 0; round < ROUNDS; round++) {
      // Everyone in line, then a random pause so the kill lands anywhere in the keepalive cycle.
      await within(30_000, 'candidates queueing', (async () => {
        while ((await inLine()) < CANDIDATES) await sleep(50);
      })());
      await sleep(300 + Math.random() * 700);
      const oldKey = leaderChanges.at(-1)?.key;
      const others = candidates.filter((c) => c !== leader && live.has(c));
      const killedAt = performance.now();
      process.kill(leader.pid, 'SIGKILL');
      candidates.splice(candidates.indexOf(leader), 1);
      try {
        const next = await within(15_000, `failover ${round + 1}`, Promise.race(others.map((c) => c.elected.then((at) => ({ c, at })))));
        run.reported.push(next.at - killedAt);
        await within(5_000, 'observer', (async () => {
          for (;;) {
            const seen = leaderChanges.find((ch) => ch.at >= killedAt && ch.key !== undefined && ch.key !== oldKey);
            if (seen) return void run.observed.push(seen.at - killedAt);
            await sleep(5);
          }
        })());
        leader = next.c;
      } catch (e) {
        run.failures++;
        console.error(`bench election: ${(e as Error).message}`);
        leader = await within(30_000, 'any leader', Promise.race(candidates.map((c) => c.elected.then(() => c))));
      }
      await spawnReady();
    }
    return run;
  } finally {
    stopObserving.abort();
    await observing;
    await Promise.all(candidates.map(stopCandidate));
  }
}

function print(results: Map<BackendName, Run>): void {
  const names = [...results.keys()];
  const ttlMs = TTL_S * 1000;
  const stats = (xs: number[]) => {
    const s = Float64Array.from(xs).sort();
    return { p50: percentile(s, 50), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : NaN, min: s.length ? s[0] : NaN };
  };
  const rows: string[][] = [];
  for (const [label, pick] of [
    ['kill → new leader reports itself', (r: Run) => r.reported],
    ['kill → observer sees new leader', (r: Run) => r.observed],
  ] as const) {
    for (const p of ['min', 'p50', 'p99', 'max'] as const) {
      const cells = [`${label}: ${p} ms`];
      for (const n of names) {
        const v = stats(pick(results.get(n)!))[p];
        cells.push(fmtMs(v), ratio(v, ttlMs));
      }
      rows.push([...cells, fmtMs(ttlMs)]);
    }
  }
  const header = ['metric'];
  for (const n of names) header.push(n, `${n}/TTL`);
  console.log('');
  printTable([...header, 'baseline: TTL'], rows);
  console.log('');
  for (const n of names) {
    const r = results.get(n)!;
    const p99 = stats(r.reported).p99;
    console.log(`${n}: ${r.reported.length} failovers measured, ${r.failures} failed; p99 ${fmtMs(p99)} ms vs goal ≤ TTL + 1 s = ${ttlMs + 1000} ms: ${p99 <= ttlMs + 1000 ? 'met' : 'NOT met'}`);
  }
}
