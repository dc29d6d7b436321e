// Open-loop load: calls start at a fixed rate whether or not earlier ones have answered, as
// independent users do. (A closed loop slows down with the server and hides failures behind it.)

export interface OpenLoop {
  /** Calls started so far. */
  readonly issued: number;
  /** Stops starting calls; resolves once every started call has settled. */
  stop(): Promise<void>;
}

/**
 * Starts `issue` `ratePerSec` times a second from now on. The schedule is kept against the clock:
 * after an event-loop stall the calls that fell due are started at once, not dropped.
 */
export function startOpenLoop(ratePerSec: number, issue: () => Promise<void>): OpenLoop {
  const start = performance.now();
  let issued = 0;
  let pending = 0;
  let drained: (() => void) | undefined;
  const settle = () => {
    if (--pending === 0) drained?.();
  };
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) * ratePerSec) / 1000);
    for (; issued < due; issued++) {
      pending++;
      void issue().then(settle, settle);
    }
  }, 2);
  return {
    get issued() {
      return issued;
    },
    stop() {
      clearInterval(timer);
      return pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));
    },
  };
}
