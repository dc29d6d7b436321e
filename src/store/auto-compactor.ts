/**
 * Automatic compaction of old history, as etcd's `--auto-compaction-mode` /
 * `--auto-compaction-retention`. `periodic`: keep `retention` ms of history — the revision is
 * sampled every retention/10 and history is compacted to the newest sample at least `retention`
 * old. `revision`: keep the last `retention` revisions, checked every second (etcd: every 5 min).
 */
export interface AutoCompaction {
  mode: 'periodic' | 'revision';
  /** Milliseconds (periodic) or revisions (revision). */
  retention: number;
}

/** coord store's default: an hour of history (etcd leaves it off; a watch resuming within the hour replays). */
export const DEFAULT_AUTO_COMPACTION: AutoCompaction = { mode: 'periodic', retention: 3_600_000 };

export interface CompactTarget {
  readonly rev: number;
  readonly compactRev: number;
  /** Compacts to `rev` (throws etcd's errors on a bad revision). */
  compact(rev: number): void;
}

/** Starts the compactor; returns its stop function. Failures are logged and retried at the next check. */
export function startAutoCompactor(target: CompactTarget, options: AutoCompaction, log: (line: string) => void, now: () => number = Date.now): () => void {
  if (!(options.retention > 0)) throw new Error(`auto-compaction retention must be positive, got ${options.retention}`);
  const samples: { at: number; rev: number }[] = [];
  const compactTo = (rev: number, why: string) => {
    if (rev <= target.compactRev || rev > target.rev) return;
    try {
      target.compact(rev);
      log(`coord store: auto-compaction to revision ${rev} (${why})`);
    } catch (e) {
      log(`coord store: auto-compaction to revision ${rev} failed: ${(e as Error).message}; retrying at the next check`);
    }
  };
  const check = () => {
    if (options.mode === 'revision') return compactTo(target.rev - options.retention, `keeping ${options.retention} revisions`);
    const t = now();
    samples.push({ at: t, rev: target.rev });
    let keep = -1;
    for (let i = 0; i < samples.length && samples[i].at <= t - options.retention; i++) keep = i;
    if (keep < 0) return;
    const rev = samples[keep].rev;
    samples.splice(0, keep + 1);
    compactTo(rev, `keeping ${options.retention / 1000} s of history`);
  };
  const interval = options.mode === 'revision' ? 1000 : Math.max(10, Math.floor(options.retention / 10));
  const timer = setInterval(check, interval);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Parses `--auto-compaction-retention` as etcd does: for periodic, a duration (`1h`, `30m`, `10s`)
 * or a bare number of hours; for revision, a count. `0` turns compaction off (returns undefined).
 */
export function parseAutoCompaction(mode: string, retention: string): AutoCompaction | undefined {
  if (mode !== 'periodic' && mode !== 'revision') throw new Error(`--auto-compaction-mode must be periodic or revision, got ${mode}`);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(retention.trim());
  if (!m || (mode === 'revision' && m[2])) throw new Error(`--auto-compaction-retention: expected ${mode === 'revision' ? 'a number of revisions' : 'a duration such as 1h, 30m, 10s'}, got ${retention}`);
  const n = Number(m[1]);
  if (n === 0) return undefined;
  if (mode === 'revision') return { mode, retention: Math.floor(n) };
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'h') as 'ms' | 's' | 'm' | 'h'];
  return { mode, retention: n * unit };
}
