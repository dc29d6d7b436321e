import { createHash } from 'node:crypto';
import { Backoff } from '../core/backoff.ts';
import { Emitter } from '../core/events.ts';
import { decodeRecord, decodeSnapshot, encodeSnapshot } from './codec.ts';
import type { MvccEvent } from './mvcc.ts';
import { StoreState, type Change } from './store.ts';
import { Wal } from './wal.ts';
import type { StoreFs } from './store-fs.ts';
import type { DataDirLock } from './data-dir-holder.ts';

export interface DurabilityOptions {
  dataDir: string | undefined;
  maxTxnOps: number;
  snapshotBytes: number;
  log: (line: string) => void;
  segmentBytes?: number;
  fs?: StoreFs;
  authTokenTtlMs?: number;
  /** The data dir's lock: if it is lost while the store runs, the store stops writing at once. */
  lock?: DataDirLock;
}

const resolved = Promise.resolve();

/** A failed snapshot, as reported by {@link Durability.onSnapshotFailure}. */
export interface SnapshotFailure {
  error: Error;
  /** Failures in a row, this one included. */
  failures: number;
  /** No snapshot is tried again before this long (and the next append) has passed. */
  retryInMs: number;
}

/**
 * Ties the in-memory state to the write-ahead log. Every change is appended to the log the
 * moment it is applied; replies and watch events wait for the fsync that covers it (group commit
 * shares one fsync among concurrent writers). Reads wait too, so nothing a client ever sees can
 * be lost by a crash. Without a data dir, changes are published at once.
 */
export class Durability {
  readonly state: StoreState;
  /** Receives each change's events (possibly none) once durable, in log order. */
  onPublish: (events: MvccEvent[], rev: number) => void = () => {};
  /** Set once the log failed; the store then refuses every request. */
  failure: Error | undefined;
  readonly failed: Promise<Error>;
  appliedIndex = 0;
  private fail!: (e: Error) => void;
  private wal: Wal | undefined;
  private last: Promise<void> = resolved;
  private inflight = 0;
  private snapshotting = false;
  private snapshotSize = 0;
  /** Failed snapshots in a row; each try rotates the log and re-encodes the whole state. */
  private snapshotFailures = 0;
  private snapshotRetryAt = 0;
  private readonly snapshotBackoff = new Backoff({ initialMs: 1000, maxMs: 60_000 });
  private readonly snapshotFailed = new Emitter<SnapshotFailure>();
  /** Each failed snapshot (disk full...), after its log line. */
  readonly onSnapshotFailure = this.snapshotFailed.on;

  private constructor(private readonly options: DurabilityOptions) {
    this.state = new StoreState({ maxTxnOps: options.maxTxnOps, authTokenTtlMs: options.authTokenTtlMs, onChange: (c) => this.onChange(c) });
    this.failed = new Promise((resolve) => (this.fail = resolve));
  }

  static async open(options: DurabilityOptions): Promise<Durability> {
    const d = new Durability(options);
    if (options.dataDir) await d.recover(options.dataDir);
    // Nothing to do once closed: a released lock's `lost` never resolves.
    void options.lock?.lost.then((err) => d.halt(err));
    return d;
  }

  /** Resolves once every change applied so far is on disk. */
  barrier(): Promise<void> {
    return this.inflight === 0 ? resolved : this.last;
  }

  sizeOnDisk(): number {
    if (this.wal) return this.snapshotSize + this.wal.bytesSinceSnapshot;
    return this.state.mvcc.keyCount * 128;
  }

  /**
   * The whole state in coord's snapshot format, zero-padded to a 512-byte multiple and followed by
   * its SHA-256, the framing etcdctl checks when it saves a snapshot (the content is coord's own,
   * not a bbolt file: `etcdctl snapshot restore` cannot read it).
   */
  snapshotBlob(): Buffer {
    const body = encodeSnapshot(this.snapshotState());
    const padded = Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
    return Buffer.concat([padded, createHash('sha256').update(padded).digest()]);
  }

  async close(): Promise<void> {
    this.state.lessor.stop();
    await this.wal?.close();
  }

  private snapshotState() {
    const { mvcc, lessor } = this.state;
    return {
      rev: mvcc.rev,
      compactRev: mvcc.compactRev,
      leases: [...lessor.leases.values()].map((l) => ({ id: l.id, ttl: l.ttl })),
      versions: [...mvcc.allVersions()],
      auth: this.state.auth.data(),
    };
  }

  private onChange(change: Change): void {
    this.appliedIndex++;
    const rev = this.state.rev;
    const wal = this.wal;
    if (!wal) {
      this.onPublish(change.events, rev);
      return;
    }
    this.inflight++;
    this.last = wal.append(change.record).then(
      () => {
        this.inflight--;
        this.onPublish(change.events, rev);
        this.maybeSnapshot(wal);
      },
      (err: Error) => {
        this.inflight--;
        this.halt(err);
        throw err;
      },
    );
    // The rejection is delivered to whoever awaits barrier(); don't report it as unhandled.
    this.last.catch(() => {});
  }

  /** Stops the store for good: the log writes nothing more and every request is refused. */
  private halt(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.wal?.halt(err);
    this.fail(err);
  }

  private maybeSnapshot(wal: Wal): void {
    if (this.snapshotting || wal.bytesSinceSnapshot < this.options.snapshotBytes) return;
    if (performance.now() < this.snapshotRetryAt) return;
    this.snapshotting = true;
    const started = performance.now();
    const state = encodeSnapshot(this.snapshotState());
    wal.snapshot(state).then(
      () => {
        this.snapshotSize = state.length;
        this.snapshotting = false;
        this.snapshotFailures = 0;
        this.snapshotBackoff.reset();
        this.options.log(`coord store: snapshot at revision ${this.state.rev} (${state.length} bytes, ${Math.round(performance.now() - started)} ms); older log segments removed`);
      },
      (err: Error) => {
        this.snapshotting = false;
        const failure = { error: err, failures: ++this.snapshotFailures, retryInMs: Math.round(this.snapshotBackoff.next()) };
        this.snapshotRetryAt = performance.now() + failure.retryInMs;
        this.options.log(`coord store: snapshot failed (${failure.failures} in a row), log kept, next try in ${(failure.retryInMs / 1000).toFixed(1)} s: ${err.message}`);
        this.snapshotFailed.emit(failure);
      },
    );
  }

  private async recover(dir: string): Promise<void> {
    const { wal, recovery } = await Wal.open(dir, { log: this.options.log, segmentBytes: this.options.segmentBytes, fs: this.options.fs });
    const { mvcc, lessor } = this.state;
    if (recovery.snapshot) {
      const snap = decodeSnapshot(recovery.snapshot);
      for (const l of snap.leases) lessor.grant(l.id, l.ttl);
      mvcc.restore(snap.rev, snap.compactRev, snap.versions);
      if (snap.auth) this.state.auth.load(snap.auth);
      this.snapshotSize = recovery.snapshot.length;
    }
    for (const buf of recovery.records) {
      const rec = decodeRecord(buf);
      if (rec.kind === 'write') this.state.replayWrite(rec.rev, rec.events);
      else if (rec.kind === 'grant') lessor.grant(rec.id, rec.ttl);
      else if (rec.kind === 'revoke') lessor.remove(rec.id);
      else if (rec.kind === 'auth') this.state.auth.load(rec.auth);
      else mvcc.compact(rec.rev);
      this.appliedIndex++;
    }
    // Leases come back with a full TTL, as etcd's do when a leader takes over.
    lessor.refreshAll();
    this.wal = wal;
    const auth = this.state.auth;
    const authLine = auth.enabled ? `, auth enabled (${auth.userList().length} users)` : '';
    this.options.log(`coord store: recovered revision ${mvcc.rev} (${mvcc.keyCount} keys, ${lessor.leases.size} leases${authLine}) from ${dir}`);
  }
}
