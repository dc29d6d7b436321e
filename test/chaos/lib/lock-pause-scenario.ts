// The lock-pause scenario, shared by `npm run chaos -- lock-pause` and its CI version: groups of
// worker processes contend for one lock each and write to a fenced resource; the driver SIGSTOPs
// a group's current holder in the middle of its critical section for longer than the lock's TTL,
// waits until another worker has taken the lock over, then SIGCONTs it, so it wakes up mid-section
// and goes on writing with its old token.
import { randomBytes } from 'node:crypto';
import type { ResourceStats } from './fenced-resource.ts';
import { ChildSet, type Child } from './child-processes.ts';
import type { WorkerConfig } from './lock-pause-worker.ts';

/** Options of {@link runLockPause}; defaults in each field's doc. */
export interface LockPauseOptions {
  /** `host:port` of etcd or coord store. */
  endpoint: string;
  /** Whether the resource applies the fencing-token check. */
  fencing: boolean;
  /** Pauses to inflict, over all groups. Default 1000. */
  pauses?: number;
  /** Independent locks, each with its own workers and resource ledger, paused in parallel. Default 8. */
  groups?: number;
  /** Workers contending for each lock. Default 3. */
  workersPerGroup?: number;
  /** Lock TTL, seconds. Default 2, the smallest etcd (and coord store) grants. */
  ttl?: number;
  /** Writes between a section's begin and end. Default 5. */
  writes?: number;
  /** Sleep before each of those writes, ms. Default 100. */
  stepMs?: number;
  /** Shortest pause, ms. Default TTL + 1 s. */
  minPauseMs?: number;
  /** Longest pause while waiting for another worker to take the lock over, ms. Default TTL + 10 s. */
  maxPauseMs?: number;
  /** Workers check the lock's signal before each write. Default false (naive workers). */
  careful?: boolean;
  /** Progress lines. Default none. */
  log?: (line: string) => void;
}

export interface LockPauseResult extends ResourceStats {
  fencing: boolean;
  /** Holders stopped mid-section whose lock another worker took over while they were stopped. */
  pauses: number;
  /** Holders stopped mid-section whose lock nobody took over within maxPauseMs. */
  pausesWithoutTakeover: number;
  pauseMs: { min: number; p50: number; max: number };
  /** Worker lock() calls that failed (and were retried). */
  lockErrors: number;
  durationMs: number;
}

const WORKER = new URL('./lock-pause-worker.ts', import.meta.url);
const RESOURCE = new URL('./fenced-resource-server.ts', import.meta.url);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Worker {
  readonly child: Child;
  readonly client: string;
  inSection: boolean;
  /** Token of its latest accepted begin. */
  token: number;
  /** How many sections it has begun: identifies one section. */
  begun: number;
}

interface Run {
  failure: Error | undefined;
  /** Pauses still to inflict (claimed before each one). */
  left: number;
  done: number;
  lockErrors: number;
}

/** Resolves true once `cond()` holds, false after `timeoutMs` or when the run failed. */
async function until(run: Run, cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (run.failure) return false;
    if (cond()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(10);
  }
}

async function startResource(children: ChildSet, fencing: boolean): Promise<{ url: string; child: Child }> {
  let listening: (url: string) => void = () => {};
  const child = children.start(RESOURCE, [fencing ? 'on' : 'off'], (line) => {
    const m = /listening on (\S+)/.exec(line);
    if (m) listening(`http://${m[1]}`);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fenced resource did not start within 30 s')), 30_000);
    listening = (u) => {
      clearTimeout(timer);
      resolve(u);
    };
    void child.exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`fenced resource exited (${how}) before listening:\n${child.stderr()}`));
    });
  });
  return { url, child };
}

function startWorker(children: ChildSet, run: Run, config: WorkerConfig): Worker {
  const child = children.start(WORKER, [JSON.stringify(config)], (line) => {
    const e = JSON.parse(line) as { ev: string; token?: number };
    if (e.ev === 'begin') Object.assign(w, { inSection: true, token: e.token, begun: w.begun + 1 });
    else if (e.ev === 'end') w.inSection = false;
    else if (e.ev === 'lock-error') run.lockErrors++;
  });
  const w: Worker = { child, client: config.client, inSection: false, token: 0, begun: 0 };
  void child.exited.then((how) => {
    run.failure ??= new Error(`worker ${config.client} exited (${how}):\n${child.stderr()}`);
  });
  return w;
}

interface GroupTally {
  pauses: number;
  withoutTakeover: number;
  pauseMs: number[];
}

/** Pauses holders of one group until the run's pause budget is spent. */
async function driveGroup(run: Run, name: string, workers: Worker[], o: Required<Omit<LockPauseOptions, 'log'>>, log: (line: string) => void): Promise<GroupTally> {
  const tally: GroupTally = { pauses: 0, withoutTakeover: 0, pauseMs: [] };
  const spanMs = o.writes * o.stepMs * 0.8;
  while (run.left > 0 && !run.failure) {
    let holder: Worker | undefined;
    if (!(await until(run, () => (holder = workers.find((w) => w.inSection)) !== undefined, 30_000))) {
      run.failure ??= new Error(`${name}: no worker entered its critical section for 30 s`);
      break;
    }
    const h = holder!;
    const section = h.begun;
    const stillInSection = () => h.inSection && h.begun === section;
    await sleep(Math.random() * spanMs);
    if (!stillInSection() || run.left <= 0) continue;
    run.left--;
    const stoppedAt = performance.now();
    h.child.signal('SIGSTOP');
    await sleep(50); // lines it wrote just before the stop are still in the pipe
    if (!stillInSection()) {
      h.child.signal('SIGCONT');
      run.left++;
      continue;
    }
    await sleep(o.minPauseMs - 50);
    const takenOver = await until(run, () => workers.some((w) => w !== h && w.token > h.token), o.maxPauseMs - o.minPauseMs);
    h.child.signal('SIGCONT');
    tally.pauseMs.push(performance.now() - stoppedAt);
    if (takenOver) tally.pauses++;
    else tally.withoutTakeover++;
    run.done++;
    if (run.done % 50 === 0 || run.done === o.pauses) log(`${run.done}/${o.pauses} pauses`);
    // Let the resumed holder finish (or be cut short) before this group's next pause.
    if (!(await until(run, () => !stillInSection(), 15_000))) run.failure ??= new Error(`${name}: ${h.client} still in its section 15 s after SIGCONT`);
  }
  return tally;
}

/** Runs the scenario once (one fencing mode) and returns what the resource and the driver saw. */
export async function runLockPause(options: LockPauseOptions): Promise<LockPauseResult> {
  const ttl = options.ttl ?? 2;
  const o: Required<Omit<LockPauseOptions, 'log'>> = {
    pauses: 1000,
    groups: 8,
    workersPerGroup: 3,
    writes: 5,
    stepMs: 100,
    minPauseMs: ttl * 1000 + 1000,
    maxPauseMs: ttl * 1000 + 10_000,
    careful: false,
    ...options,
    ttl,
  };
  const mode = `fencing ${o.fencing ? 'on' : 'off'}`;
  const log = (line: string) => options.log?.(`${mode}: ${line}`);
  const started = performance.now();
  const children = new ChildSet();
  const run: Run = { failure: undefined, left: o.pauses, done: 0, lockErrors: 0 };
  try {
    const resource = await startResource(children, o.fencing);
    void resource.child.exited.then((how) => (run.failure ??= new Error(`fenced resource exited (${how}):\n${resource.child.stderr()}`)));
    const runId = randomBytes(4).toString('hex');
    const groups = Array.from({ length: o.groups }, (_, g) => {
      const group = `g${g}`;
      const workers = Array.from({ length: o.workersPerGroup }, (_, i) =>
        startWorker(children, run, {
          endpoint: o.endpoint,
          namespace: '/coord-chaos/',
          lock: `lock-pause-${runId}-${group}`,
          resource: resource.url,
          group,
          client: `${group}-w${i}`,
          ttl: o.ttl,
          writes: o.writes,
          stepMs: o.stepMs,
          careful: o.careful,
        }),
      );
      return { group, workers };
    });
    log(`${o.groups} groups × ${o.workersPerGroup} workers starting`);
    const allWorkers = groups.flatMap((g) => g.workers);
    if (!(await until(run, () => allWorkers.every((w) => w.begun > 0), 120_000))) {
      run.failure ??= new Error(`not every worker entered its critical section within 120 s of starting`);
    }
    if (run.failure) throw run.failure;
    log(`all ${allWorkers.length} workers running (${Math.round(performance.now() - started)} ms)`);
    const tallies = await Promise.all(groups.map((g) => driveGroup(run, g.group, g.workers, o, log)));
    if (run.failure) throw run.failure;
    const res = await fetch(`${resource.url}/stats`);
    const { total } = (await res.json()) as { total: ResourceStats };
    const pauseMs = tallies.flatMap((t) => t.pauseMs).sort((a, b) => a - b);
    return {
      ...total,
      fencing: o.fencing,
      pauses: tallies.reduce((n, t) => n + t.pauses, 0),
      pausesWithoutTakeover: tallies.reduce((n, t) => n + t.withoutTakeover, 0),
      pauseMs: { min: pauseMs[0] ?? 0, p50: pauseMs[Math.floor(pauseMs.length / 2)] ?? 0, max: pauseMs.at(-1) ?? 0 },
      lockErrors: run.lockErrors,
      durationMs: performance.now() - started,
    };
  } finally {
    run.failure ??= new Error('run over');
    await children.close();
  }
}

/**
 * What is wrong with a result: with fencing on, any stale write accepted or overlap is a safety
 * violation, and no stale write refused means the hazard never arose; with fencing off, no overlap
 * and no stale write accepted means the scenario has no teeth. Every pause must hand the lock over.
 */
export function lockPauseProblems(r: LockPauseResult): string[] {
  const problems: string[] = [];
  if (r.pausesWithoutTakeover > 0) problems.push(`${r.pausesWithoutTakeover} paused holder(s) kept the lock for the whole pause: the lease did not expire`);
  if (r.fencing) {
    if (r.staleAccepted > 0) problems.push(`fencing on: ${r.staleAccepted} stale write(s) accepted`);
    if (r.overlaps > 0) problems.push(`fencing on: ${r.overlaps} overlapping critical section(s)`);
    if (r.staleRejected === 0) problems.push('fencing on: no stale write was even attempted, so the run proves nothing');
  } else {
    if (r.overlaps === 0) problems.push('fencing off: no overlap detected, so the scenario does not create the hazard');
    if (r.staleAccepted === 0) problems.push('fencing off: no stale write accepted, so the scenario does not create the hazard');
  }
  return problems;
}
