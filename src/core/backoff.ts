import { abortError } from './errors.ts';

export interface BackoffOptions {
  /** First delay. Default 100 ms. */
  initialMs?: number;
  /** Cap on any delay. Default 5 s. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
}

/** Exponential backoff with full jitter ("decorrelated" enough for reconnect storms). */
export class Backoff {
  private attempt = 0;
  private readonly o: Required<BackoffOptions>;
  constructor(options: BackoffOptions = {}) {
    this.o = { initialMs: 100, maxMs: 5000, factor: 2, ...options };
  }
  next(): number {
    const ceiling = Math.min(this.o.maxMs, this.o.initialMs * this.o.factor ** this.attempt++);
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }
  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or rejects with the abort error as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves after `ms`, or at once (without an error) when `signal` fires: for loops that check `signal` themselves. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}
