// One registry-scale run: a restartable server, discovery watchers in one process, registrars in
// R processes (coord's new code, an old tree's code, or the Go clientv3 registrar), then the
// measured steps: register all, steady CPU/RSS, leases, kill -9 and graceful close of a registrar,
// server SIGTERM and kill -9 restarts. Shared by bench/registry-scale.ts and the chaos scenario.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect } from '../../src/index.ts';
import { startRestartable, type RestartableServer, type ServerKind } from '../../test/helpers/restartable-server.ts';
import { ChildTracker, exitOf, killQuietly } from '../../test/helpers/child-tracker.ts';
import { cpuMs, rssBytes, sleep } from './harness.ts';

export const NS = '/scale/';
export const SERVICES = 100;
export const tracker = new ChildTracker();

export type RegistrarKind = { kind: 'coord'; tree: string } | { kind: 'go'; bin: string };

/** A process with its stdout lines. */
export interface Proc {
  child: ChildProcess;
  pid: number;
  lines: string[];
  waitLine(re: RegExp, ms: number): Promise<RegExpExecArray>;
}

export function startProc(cmd: string, args: string[], cwd?: string): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd });
  const pid = tracker.track(child, cmd);
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) w();
  });
  const waitLine = async (re: RegExp, ms: number) => {
    const end = Date.now() + ms;
    for (let from = 0; ; ) {
      for (; from < lines.length; from++) {
        const m = re.exec(lines[from]);
        if (m) return m;
      }
      if (Date.now() > end || child.exitCode !== null) throw new Error(`${cmd}: no line matching ${re} within ${ms} ms`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 500).unref();
      });
    }
  };
  return { child, pid, lines, waitLine };
}

export function startRegistrar(r: RegistrarKind, endpoint: string, offset: number, count: number, ttl: number): Proc {
  if (r.kind === 'go') return startProc(r.bin, ['-endpoint', endpoint, '-prefix', NS, '-n', String(count), '-services', String(SERVICES), '-ttl', String(ttl), '-offset', String(offset)]);
  return startProc(process.execPath, ['--expose-gc', '--import', `${r.tree}/scripts/run-source.mjs`, `${r.tree}/bench/lib/registrar-main.ts`, endpoint, NS, String(offset), String(count), String(SERVICES), String(ttl)], r.tree);
}

/** Watcher counts over time, parsed from the watchers process. */
export class Watchers {
  readonly proc: Proc;
  constructor(tree: string, endpoint: string, n: number) {
    this.proc = startProc(process.execPath, ['--import', `${tree}/scripts/run-source.mjs`, `${tree}/bench/lib/scale-watchers-main.ts`, endpoint, NS, String(n), String(SERVICES)], tree);
  }
  /** First time (epoch ms) at or after `since` when every watcher's count satisfied `ok`; NaN if not within `ms`. */
  async when(ok: (count: number) => boolean, since: number, ms: number): Promise<number> {
    const end = Date.now() + ms;
    for (;;) {
      let current = NaN;
      for (const l of this.proc.lines) {
        const m = /^t (\d+) (.*)$/.exec(l);
        if (!m) continue;
        const counts = m[2].split(',').map(Number);
        const t = Number(m[1]);
        if (counts.every(ok)) {
          if (Number.isNaN(current)) current = Math.max(t, since);
        } else current = NaN;
      }
      if (!Number.isNaN(current)) return current;
      if (Date.now() > end) return NaN;
      await sleep(100);
    }
  }
}

export interface ScaleResult {
  registerAllMs: number;
  registerFailures: number;
  serverCpuPct: number;
  serverRssMb: number;
  clientCpuPctPer1k: number;
  /** Steady RSS growth per registration past a warm first one (memory the burst freed back to the OS). */
  clientRssKbPerReg: number;
  /** V8 heap growth per registration, after a full GC. */
  clientHeapKbPerReg: number;
  /** RSS of a registrar with its first registration, over its RSS at start: channels, lease, code. */
  clientFixedRssMb: number;
  leases: number;
  killSeenP50Ms: number;
  killSeenP99Ms: number;
  closeSeenMs: number;
  sigtermStopMs: number;
  sigtermBackMs: number;
  kill9BackMs: number;
}

export interface ScaleOptions {
  server: ServerKind;
  registrar: RegistrarKind;
  n: number;
  ttl: number;
  registrars: number;
  watchers: number;
  /** The tree whose watchers code runs (the new one). */
  tree: string;
  log: (line: string) => void;
}

/** Runs every step once; NaN marks a step that did not complete within its bound. */
export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const server = await startRestartable(o.server);
  const admin = connect({ endpoints: [server.endpoint], namespace: NS, requestTimeoutMs: 10_000 });
  const regs: Proc[] = [];
  let watchers: Watchers | undefined;
  try {
    watchers = new Watchers(o.tree, server.endpoint, o.watchers);
    await watchers.proc.waitLine(/^ready$/, 60_000);
    const per = Math.ceil(o.n / o.registrars);
    const t0 = performance.now();
    for (let i = 0; i < o.registrars; i++) regs.push(startRegistrar(o.registrar, server.endpoint, i * per, per, o.ttl));
    const done = await Promise.all(regs.map((r) => r.waitLine(/^registered (\d+)(?: (\d+))?/, 600_000)));
    // From each registrar's first register() to its last (process start-up left out: a Go binary
    // starts at once, a Node process under load takes seconds to load its sources); the slowest.
    const registerAllMs = Math.max(...done.map((m) => Number(m[1])));
    const wallMs = performance.now() - t0;
    const registerFailures = done.reduce((n, m) => n + Number(m[2] ?? 0), 0);
    const all = await watchers.when((c) => c === o.n, Date.now(), 120_000);
    o.log(`  ${o.n} registered in ${Math.round(registerAllMs)} ms (${Math.round(wallMs)} ms from spawning the registrars; ${registerFailures} register() rejections), watchers current: ${!Number.isNaN(all)}`);
    // Steady state: let the registration burst settle, then 10 s of keepalives only.
    await sleep(5000);
    const s0 = cpuMs(server.pid!);
    const c0 = regs.map((r) => cpuMs(r.pid));
    await sleep(10_000);
    const serverCpuPct = (cpuMs(server.pid!) - s0) / 100;
    const clientCpu = regs.reduce((n, r, i) => n + cpuMs(r.pid) - c0[i], 0) / 100;
    const clientCpuPctPer1k = clientCpu / (o.n / 1000);
    const serverRssMb = rssBytes(server.pid!) / 2 ** 20;
    const leases = (await admin.etcd.leaseLeases()).length;
    o.log(`  steady: server ${serverCpuPct.toFixed(1)} % CPU, ${serverRssMb.toFixed(0)} MB; ${leases} leases`);
    // Client memory, after the CPU window (its forced collections are not keepalive work): coord
    // registrars only, per registration past the first (bench/lib/registrar-main.ts).
    let client = { rssKbPerReg: NaN, heapKbPerReg: NaN, fixedRssMb: NaN };
    if (o.registrar.kind === 'coord') {
      for (const r of regs) killQuietly(r.pid, 'SIGUSR2');
      const mem = await Promise.all(regs.map((r) => r.waitLine(/^memory (-?\d+) (-?\d+) (-?\d+) (\d+)$/, 120_000)));
      const avg = (i: number, per: (m: RegExpExecArray) => number) => mem.reduce((a, m) => a + Number(m[i]) / per(m), 0) / mem.length;
      client = { rssKbPerReg: avg(1, (m) => Number(m[4]) * 1024), heapKbPerReg: avg(2, (m) => Number(m[4]) * 1024), fixedRssMb: avg(3, () => 2 ** 20) };
      o.log(`  client memory per registration: ${client.rssKbPerReg.toFixed(1)} KB RSS, ${client.heapKbPerReg.toFixed(1)} KB heap; fixed per client ${client.fixedRssMb.toFixed(0)} MB RSS`);
    }

    // kill -9 of one registrar: its instances leave when their lease(s) expire.
    const k = regs[0];
    let left = o.n;
    const tKill = Date.now();
    killQuietly(k.pid, 'SIGKILL');
    await exitOf(k.child);
    const p50 = await watchers.when((c) => c >= 0 && c <= left - per / 2, tKill, o.ttl * 1000 * 4 + 30_000);
    const p99 = await watchers.when((c) => c >= 0 && c <= left - Math.ceil(per * 0.99), tKill, o.ttl * 1000 * 4 + 30_000);
    left -= per;
    // Graceful close of another: its client deregisters (deletes or revokes) as it stops.
    const g = regs[1];
    const tClose = Date.now();
    killQuietly(g.pid, 'SIGTERM');
    const closeSeen = await watchers.when((c) => c >= 0 && c <= left - per, tClose, 60_000);
    left -= per;
    await exitOf(g.child);
    o.log(`  registrar kill -9 seen by every watcher: p50 ${p50 - tKill} ms, p99 ${p99 - tKill} ms; graceful close seen in ${closeSeen - tClose} ms`);

    const restart = async (signal: 'SIGTERM' | 'SIGKILL') => {
      const stopMs = await server.stop(signal);
      await server.start();
      const tUp = Date.now();
      const back = await watchers!.when((c) => c === left, tUp, o.ttl * 1000 * 2 + 60_000);
      // Every key back on the server too.
      const count = (await admin.etcd.range(`${NS}services/`, { prefix: true, countOnly: true }).catch(() => ({ count: -1 }))).count;
      o.log(`  server ${signal}: stopped in ${Math.round(stopMs)} ms; every watcher current ${back - tUp} ms after the restart; ${count}/${left} keys on the server`);
      return { stopMs, backMs: count === left ? back - tUp : NaN };
    };
    const term = await restart('SIGTERM');
    const kill = await restart('SIGKILL');
    return {
      registerAllMs,
      registerFailures,
      serverCpuPct,
      serverRssMb,
      clientCpuPctPer1k,
      clientRssKbPerReg: client.rssKbPerReg,
      clientHeapKbPerReg: client.heapKbPerReg,
      clientFixedRssMb: client.fixedRssMb,
      leases,
      killSeenP50Ms: p50 - tKill,
      killSeenP99Ms: p99 - tKill,
      closeSeenMs: closeSeen - tClose,
      sigtermStopMs: term.stopMs,
      sigtermBackMs: term.backMs,
      kill9BackMs: kill.backMs,
    };
  } finally {
    await admin.close();
    await tracker.killAll();
    await server.close();
  }
}

export type { RestartableServer };
