// How busy this Node process is, for the load shedder. Node runs handlers on one thread, so the
// figure that matters is how much of that thread is taken: event-loop utilization (the share of
// wall time the loop spent not waiting for I/O) and process CPU time over one core (which also
// sees GC and thread-pool work). The busier of the two is "load" in [0, 1] — the counterpart of
// the host CPU usage that kratos BBR and go-zero's shedder read from cgroups. It is smoothed to
// rise at once and fall slowly (halving every 250 ms): overload is seen within one sample, and a
// moment of calm inside it does not read as the end. (Averaging the rise too, as kratos does, let
// a 3x load queue about a second of work before the shedder saw it, in load-shedder-sim.test.ts.)
//
// Beside it, event-loop delay: how long work that is ready waits for the loop, which is the
// queueing a request sees before grpc-js even reads it. A 10 ms heartbeat timer measures it twice:
// sustained (the lower of its mean lateness over the last two sample periods), and right now —
// how long since the loop last reached its timers. The first ignores a single stall (a long GC
// pause, or the process waiting for a core on a busy machine), after which a shedder would
// refuse the harmless burst that piled up meanwhile; the second matters because the loop can be
// stuck in one long turn, running the handlers of everything it read at once; timers (and so the
// sustained figure) do not move until the turn ends, but the time since the last heartbeat does.
//
// One sampler serves the whole process, started by the first user and stopped with the last.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Where a load shedder reads load from. */
export interface LoadSource {
  /** Smoothed load in [0, 1]. */
  current(): number;
  /** Event-loop delay sustained over the last two samples, ms. */
  delayMs(): number;
  /** How long the event loop has been busy without reaching its timers, right now, ms. */
  lagMs(): number;
}

export interface ProcessLoad extends LoadSource {
  /** The figures of the latest sample. */
  latest(): ProcessLoadSample;
  /** Stops using the shared sampler (it stops when its last user releases it). */
  release(): void;
}

export interface ProcessLoadSample {
  /** Smoothed load in [0, 1]. */
  load: number;
  /** Event-loop delay sustained over the last two samples (the lower of their means), ms. */
  delayMs: number;
  /** Event-loop utilization over the last sample period, 0..1. */
  eventLoopUtilization: number;
  /** Process CPU time over the last sample period as a fraction of one core (above 1 with busy helper threads). */
  cpu: number;
  /** Mean and longest event-loop delay over the last sample period, ms. */
  eventLoopDelayMeanMs: number;
  eventLoopDelayMaxMs: number;
}

/** Sample period. Short enough to notice overload within a few hundred ms, long enough to be cheap. */
export const SAMPLE_INTERVAL_MS = 100;
const BEAT_MS = 10;
/** Weight of the previous load when load falls: it halves every 250 ms. */
const DECAY = 0.5 ** (SAMPLE_INTERVAL_MS / 250);

/** The sampler's two figures, from one raw sample to the next (also what load-shedder-sim.test.ts drives). */
export class LoadFilter {
  load = 0;
  delayMs = 0;
  private lastMeanLateMs = 0;

  /** Adds a sample: the loop's busy share and the mean lateness of its heartbeat over the period. */
  add(busy: number, meanLateMs: number): void {
    this.load = busy >= this.load ? busy : this.load * DECAY + busy * (1 - DECAY);
    this.delayMs = Math.min(this.lastMeanLateMs, meanLateMs);
    this.lastMeanLateMs = meanLateMs;
  }
}

const ZERO: ProcessLoadSample = { load: 0, delayMs: 0, eventLoopUtilization: 0, cpu: 0, eventLoopDelayMeanMs: 0, eventLoopDelayMaxMs: 0 };

class Sampler {
  users = 0;
  sample: ProcessLoadSample = ZERO;
  private filter = new LoadFilter();
  private timer: NodeJS.Timeout | undefined;
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private cpu = process.cpuUsage();
  private sampledAt = 0;
  private beatAt = 0;
  private lateSum = 0;
  private lateMax = 0;
  private beats = 0;

  start(): void {
    this.elu = performance.eventLoopUtilization();
    this.cpu = process.cpuUsage();
    this.sampledAt = this.beatAt = performance.now();
    this.sample = ZERO;
    this.filter = new LoadFilter();
    this.timer = setInterval(() => this.beat(), BEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  lagMs(): number {
    return this.timer ? Math.max(0, performance.now() - this.beatAt - BEAT_MS) : 0;
  }

  private beat(): void {
    const now = performance.now();
    const late = Math.max(0, now - this.beatAt - BEAT_MS);
    this.beatAt = now;
    this.lateSum += late;
    this.lateMax = Math.max(this.lateMax, late);
    this.beats++;
    if (now - this.sampledAt >= SAMPLE_INTERVAL_MS) this.take(now);
  }

  private take(now: number): void {
    const elapsedMs = now - this.sampledAt;
    const elu = performance.eventLoopUtilization(this.elu);
    const cpu = process.cpuUsage(this.cpu);
    this.elu = performance.eventLoopUtilization();
    this.cpu = process.cpuUsage();
    this.sampledAt = now;
    const cpuShare = (cpu.user + cpu.system) / 1000 / elapsedMs;
    const busy = Math.min(1, Math.max(elu.utilization, cpuShare));
    const meanLate = this.beats > 0 ? this.lateSum / this.beats : 0;
    this.filter.add(busy, meanLate);
    this.sample = {
      load: this.filter.load,
      delayMs: this.filter.delayMs,
      eventLoopUtilization: elu.utilization,
      cpu: cpuShare,
      eventLoopDelayMeanMs: meanLate,
      eventLoopDelayMaxMs: this.lateMax,
    };
    this.lateSum = this.lateMax = this.beats = 0;
  }
}

const shared = new Sampler();

/** A handle on the process-wide load sampler; call release() when done. */
export function acquireProcessLoad(): ProcessLoad {
  if (shared.users++ === 0) shared.start();
  let released = false;
  return {
    current: () => shared.sample.load,
    delayMs: () => shared.sample.delayMs,
    lagMs: () => shared.lagMs(),
    latest: () => ({ ...shared.sample }),
    release() {
      if (released) return;
      released = true;
      if (--shared.users === 0) shared.stop();
    },
  };
}
