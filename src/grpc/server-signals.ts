// SIGTERM/SIGINT for every server of the process at once: the first signal starts a graceful
// shutdown of all of them and, once all are down, exits (0, or 1 if one failed) when any asked
// to; a second signal cuts the drains short (in-flight calls are cancelled now); a third exits at
// once. One listener per signal for the whole process, so two servers never race to exit.
import { constants } from 'node:os';
import type { Disposable } from '../core/events.ts';

export interface SignalTarget {
  /** Starts (or joins) the graceful shutdown; resolves when it is done. */
  close(): Promise<void>;
  /** Cuts a shutdown in progress short. */
  hurry(): void;
  /** Whether the process should exit once the shutdown is done. */
  readonly exitOnSignal: boolean;
  /**
   * Before the process exits: gives back what the target's client holds (locks, leadership,
   * leases), so other instances take over now rather than when the leases expire.
   */
  release?(): Promise<void>;
  readonly log: (line: string) => void;
}

const targets = new Map<SignalTarget, readonly NodeJS.Signals[]>();
const listeners = new Map<NodeJS.Signals, () => void>();
let received = 0;

/** Routes `signals` to `target` until disposed. */
export function handleSignals(target: SignalTarget, signals: readonly NodeJS.Signals[]): Disposable {
  targets.set(target, signals);
  for (const signal of signals) {
    if (listeners.has(signal)) continue;
    const listener = () => onSignal(signal);
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
  return {
    dispose() {
      if (!targets.delete(target)) return;
      const wanted = new Set([...targets.values()].flat());
      for (const [signal, listener] of listeners) {
        if (wanted.has(signal)) continue;
        process.off(signal, listener);
        listeners.delete(signal);
      }
      if (targets.size === 0) received = 0;
    },
  };
}

function onSignal(signal: NodeJS.Signals): void {
  const hit = [...targets].filter(([, signals]) => signals.includes(signal)).map(([t]) => t);
  received++;
  if (received === 1) {
    for (const t of hit) t.log(`${signal} received: shutting down gracefully (send it again to cut the drain short)`);
    void Promise.allSettled(hit.map((t) => t.close())).then(async (results) => {
      if (!hit.some((t) => t.exitOnSignal)) return;
      const released = await Promise.allSettled(hit.map((t) => t.release?.()));
      process.exit([...results, ...released].some((r) => r.status === 'rejected') ? 1 : 0);
    });
  } else if (received === 2) {
    for (const t of hit) {
      t.log(`${signal} received again: cancelling calls still in flight (a third time exits at once)`);
      t.hurry();
    }
  } else {
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
}
