// Durability for coord store: a segmented write-ahead log with group commit, plus snapshots that
// let old segments go. Formats and the torn-tail/corruption rules are in wal-segment.ts.
import { join, resolve } from 'node:path';
import { crc32Large } from './crc32.ts';
import { nodeFs, type StoreFile, type StoreFs } from './store-fs.ts';
import {
  BATCH_HEADER_BYTES,
  RECORD_HEADER_BYTES,
  SNAPSHOT_HEADER_BYTES,
  WalCorruptionError,
  encodeBatch,
  isWalCorruptionError,
  parseSegment,
  readSnapshotHeader,
  segmentName,
  snapshotHeader,
  snapshotName,
  type ParsedSegment,
  type SegmentFormat,
} from './wal-segment.ts';
import { createSegment, recordCleanStop, rewriteSegment, syncDir, takeCleanStop, writeAll, type OpenSegment } from './wal-files.ts';

export { WalCorruptionError, isWalCorruptionError } from './wal-segment.ts';

export interface WalOptions {
  /** Called with one human line for notable events (torn tail truncated, snapshot written...).
   *  Default: written to stderr. */
  log?: (line: string) => void;
  /** Start a new segment once the current one passes this many bytes. Default 64 MiB. */
  segmentBytes?: number;
  /** The file system the log lives on. Default node's (tests inject power cuts here). */
  fs?: StoreFs;
}

export interface WalRecovery {
  /** The newest valid snapshot's payload, or null if none was ever written. */
  snapshot: Buffer | null;
  /** Every record appended after that snapshot, in append order (views into the files read). */
  records: Buffer[];
}

/** Counters for tests and metrics. */
export interface WalStats {
  appends: number;
  /** Batches written: one write call each. */
  writes: number;
  /** fdatasync/fsync calls, on segments, snapshots and the directory. */
  fsyncs: number;
}

const DEFAULT_SEGMENT_BYTES = 64 << 20;
// Bounds the copy buffer; more records than this wait for the next write (and fsync).
const MAX_BATCH_BYTES = 4 << 20;
const MAX_RECORD_BYTES = 1 << 30;
const SEGMENT_FILE = /^wal-(\d{16})\.log$/;
const SNAPSHOT_FILE = /^snap-(\d{16})\.snap$/;
// Left by a snapshot or a segment rewrite that a crash interrupted.
const TEMP_FILE = /^(snap-\d{16}\.snap|wal-\d{16}\.log)\.tmp$/;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}
function deferred<T>(): Deferred<T> {
  const d = {} as Deferred<T>;
  d.promise = new Promise<T>((res, rej) => Object.assign(d, { resolve: res, reject: rej }));
  return d;
}

/** Records that go out in one write + fdatasync; every appender of the batch shares `done`. */
interface Batch {
  kind: 'batch';
  records: Buffer[];
  bytes: number;
  done: Deferred<void>;
}
/** A snapshot's cut: records queued before it stay in the old segment; resolves to the new one. */
interface Rotation {
  kind: 'rotate';
  done: Deferred<number>;
}
type Op = Batch | Rotation;

export class Wal {
  readonly stats: Readonly<WalStats>;
  private readonly queue: Op[] = [];
  private inFlight: Op | undefined;
  private draining: Promise<void> | undefined;
  private scratch = Buffer.allocUnsafe(64 << 10);
  private snapshots: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly dir: string,
    private readonly opts: Required<WalOptions>,
    private readonly counters: WalStats,
    private fh: StoreFile,
    private format: SegmentFormat,
    private seq: number,
    private size: number,
    private sinceSnapshot: number,
  ) {
    this.stats = counters;
  }

  /** Open (creating if missing) a data dir; recover what is on disk. */
  static async open(dir: string, options: WalOptions = {}): Promise<{ wal: Wal; recovery: WalRecovery }> {
    const root = resolve(dir);
    const opts: Required<WalOptions> = {
      log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
      segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
      fs: options.fs ?? nodeFs,
    };
    try {
      return await Wal.recover(root, opts);
    } catch (err) {
      if (isWalCorruptionError(err) || typeof (err as NodeJS.ErrnoException).code !== 'string') throw err;
      throw new Error(`coord store: cannot use data dir ${root} (${(err as Error).message})`, { cause: err });
    }
  }

  private static async recover(dir: string, opts: Required<WalOptions>) {
    const counters: WalStats = { appends: 0, writes: 0, fsyncs: 0 };
    const fs = opts.fs;
    await fs.mkdir(dir);
    const names = await fs.readdir(dir);
    for (const name of names.filter((n) => TEMP_FILE.test(n))) {
      await fs.rm(join(dir, name));
      opts.log(`coord store: removed ${join(dir, name)}, left by a snapshot or log rewrite interrupted by a crash`);
    }
    const seqs = (re: RegExp) =>
      names.flatMap((n) => re.exec(n)?.[1] ?? []).map(Number).sort((a, b) => a - b);
    const snapSeq = seqs(SNAPSHOT_FILE).at(-1);
    let snapshot: Buffer | null = null;
    if (snapSeq !== undefined) {
      const file = join(dir, snapshotName(snapSeq));
      const { payload, crc } = readSnapshotHeader(await fs.readFile(file), file, snapSeq);
      if ((await crc32Large(payload)) !== crc) {
        throw new WalCorruptionError(file, SNAPSHOT_HEADER_BYTES, 'checksum mismatch');
      }
      snapshot = payload;
    }

    // Segments from the snapshot's on are the log; each must be there, or records between are lost.
    const base = snapSeq ?? 1;
    const live = seqs(SEGMENT_FILE).filter((s) => s >= base);
    const missing = live.findIndex((s, i) => s !== base + i);
    if (missing !== -1 || (snapSeq !== undefined && live.length === 0)) {
      const file = join(dir, segmentName(base + (missing === -1 ? 0 : missing)));
      throw new WalCorruptionError(file, 0, 'file missing from the log sequence');
    }
    const records: Buffer[] = [];
    let logBytes = 0;
    let tail: { file: string; seq: number; size: number; parsed: ParsedSegment } | undefined;
    for (const [i, seq] of live.entries()) {
      const file = join(dir, segmentName(seq));
      const buf = await fs.readFile(file);
      const parsed = parseSegment(buf, file, seq, i === live.length - 1);
      for (const r of parsed.records) records.push(r);
      logBytes += buf.length - Math.min(buf.length, parsed.format.headerBytes);
      tail = { file, seq, size: buf.length, parsed };
    }
    if (snapSeq !== undefined) {
      const removed = await removeSuperseded(fs, dir, snapSeq);
      if (removed > 0) opts.log(`coord store: removed ${removed} files in ${dir} superseded by the snapshot`);
    }
    const clean = tail ? await takeCleanStop(fs, dir, names, tail.seq, tail.size) : false;
    let open: OpenSegment;
    if (!tail) open = await createSegment(fs, dir, base, counters);
    else if (clean && !tail.parsed.repair && tail.parsed.format.version === 2) {
      open = { fh: await fs.open(tail.file, 'r+'), format: tail.parsed.format, size: tail.size };
    } else {
      // After a crash, a failed fsync, a torn tail or from an older format: the last segment is
      // written anew (see rewriteSegment) with what checked out of it.
      const { records: kept, batches, repair } = tail.parsed;
      open = await rewriteSegment(fs, dir, tail.seq, kept, batches, counters);
      logBytes -= tail.size - Math.min(tail.size, tail.parsed.format.headerBytes) - (open.size - open.format.headerBytes);
      if (repair) {
        opts.log(
          `coord store: torn tail in ${tail.file} at offset ${repair.offset} (${repair.reason}); ` +
            `truncated ${tail.size - repair.truncateTo} bytes, appending from offset ${open.size}`,
        );
      } else if (tail.parsed.format.version === 1) {
        opts.log(`coord store: ${tail.file} rewritten in log format version 2 (older segments are read as they are)`);
      } else {
        opts.log(`coord store: ${tail.file} rewritten to a fresh file after an unclean stop (${kept.length} records), so nothing read back from the page cache is left unsynced`);
      }
    }
    const wal = new Wal(dir, opts, counters, open.fh, open.format, tail?.seq ?? base, open.size, logBytes);
    return { wal, recovery: { snapshot, records } };
  }

  /** Bytes of log queued since the last snapshot (so the store can decide when to snapshot). */
  get bytesSinceSnapshot(): number {
    return this.sinceSnapshot;
  }

  /** Queue a record; resolves once it and every record before it are fdatasynced. The buffer is
   *  referenced, not copied, until written: do not modify it. */
  append(record: Buffer): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    if (record.length > MAX_RECORD_BYTES) {
      return Promise.reject(new RangeError(`coord store: a log record may be at most ${MAX_RECORD_BYTES} bytes`));
    }
    const framed = RECORD_HEADER_BYTES + record.length;
    let batch = this.queue.at(-1);
    if (batch?.kind !== 'batch' || batch.bytes + framed > MAX_BATCH_BYTES) {
      batch = { kind: 'batch', records: [], bytes: 0, done: deferred<void>() };
      this.enqueue(batch);
    }
    batch.records.push(record);
    batch.bytes += framed;
    this.sinceSnapshot += framed;
    this.counters.appends++;
    return batch.done.promise;
  }

  /** Resolves when everything appended so far is durable. */
  sync(): Promise<void> {
    const last = this.queue.at(-1) ?? this.inFlight;
    if (last) return last.done.promise.then(() => undefined);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve();
  }

  /** Persist a snapshot covering every record appended before this call. `state` is referenced,
   *  not copied: do not modify it. Appends may continue while it runs. */
  snapshot(state: Buffer): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const rotation: Rotation = { kind: 'rotate', done: deferred<number>() };
    rotation.done.promise.catch(() => {}); // observed later, possibly after it has failed
    this.enqueue(rotation);
    const covered = this.sinceSnapshot;
    this.sinceSnapshot = 0;
    const run = this.snapshots.then(() => this.writeSnapshot(state, rotation.done.promise));
    // The chain only orders snapshots; this one's failure is returned (and logged) just below.
    this.snapshots = run.catch(() => {});
    return run.catch((err: unknown) => {
      this.sinceSnapshot += covered;
      throw err;
    });
  }

  /** Flush pending records, then close files. Further appends reject. */
  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Stops the log for good (the data dir's lock was lost): nothing queued is written, every
   *  queued and later append rejects with `err`. A write already under way completes. */
  halt(err: Error): void {
    this.failure ??= err;
    for (const o of this.queue.splice(0)) o.done.reject(this.failure);
  }

  private refusal(): Error | undefined {
    if (this.failure) return this.failure;
    if (this.closing) return new Error(`coord store: the write-ahead log in ${this.dir} is closed`);
    return undefined;
  }

  private enqueue(op: Op): void {
    this.queue.push(op);
    // Starting in a microtask lets appends made in the same tick share the first write.
    this.draining ??= Promise.resolve().then(() => this.drain());
  }

  private async drain(): Promise<void> {
    for (let op = this.queue.shift(); op; op = this.queue.shift()) {
      this.inFlight = op;
      try {
        if (op.kind === 'batch') {
          await this.writeBatch(op);
          op.done.resolve();
          if (this.size >= this.opts.segmentBytes && !this.failure) await this.rotate();
        } else {
          op.done.resolve(this.size > this.format.headerBytes ? await this.rotate() : this.seq);
        }
      } catch (err) {
        this.fail(err, op);
      }
    }
    this.inFlight = undefined;
    this.draining = undefined;
  }

  private async writeBatch(batch: Batch): Promise<void> {
    const total = BATCH_HEADER_BYTES + batch.bytes;
    const cap = MAX_BATCH_BYTES + BATCH_HEADER_BYTES;
    if (total > this.scratch.length && total <= cap) {
      this.scratch = Buffer.allocUnsafe(Math.min(cap, Math.max(total, this.scratch.length * 2)));
    }
    // One reused buffer is safe: only one batch is ever being written.
    const out = total <= this.scratch.length ? this.scratch : Buffer.allocUnsafe(total);
    encodeBatch(batch.records, batch.bytes, out, this.format, this.size);
    await writeAll(this.fh, out, this.size, total);
    this.counters.writes++;
    await this.fh.datasync();
    this.counters.fsyncs++;
    this.size += total;
  }

  private async rotate(): Promise<number> {
    const seq = this.seq + 1;
    const next = await createSegment(this.opts.fs, this.dir, seq, this.counters);
    const old = this.fh;
    [this.fh, this.format, this.seq, this.size] = [next.fh, next.format, seq, next.size];
    await old.close(); // its last batch was already fdatasynced
    return seq;
  }

  // After a failed write or fsync the file's state is unknown (and the kernel may have dropped the
  // dirty pages), so nothing more is acknowledged; recovery on restart sorts out the tail.
  private fail(err: unknown, op: Op): void {
    this.failure ??= new Error(
      `coord store: writing the log in ${this.dir} failed (${(err as Error).message}); restart to recover`,
      { cause: err },
    );
    for (const o of [op, ...this.queue.splice(0)]) o.done.reject(this.failure);
  }

  private async writeSnapshot(state: Buffer, rotated: Promise<number>): Promise<void> {
    const seq = await rotated;
    const file = join(this.dir, snapshotName(seq));
    const tmp = `${file}.tmp`;
    try {
      const header = snapshotHeader(seq, state.length, await crc32Large(state));
      const fh = await this.opts.fs.open(tmp, 'w');
      try {
        await writeAll(fh, header, 0);
        await writeAll(fh, state, header.length);
        await fh.datasync();
        this.counters.fsyncs++;
      } finally {
        await fh.close();
      }
      await this.opts.fs.rename(tmp, file);
      await syncDir(this.opts.fs, this.dir, this.counters);
    } catch (err) {
      // Best effort: the error that matters is thrown below, and a leftover temp file is removed
      // (with a log line) the next time the log is opened.
      await this.opts.fs.rm(tmp).catch(() => {});
      throw new Error(`coord store: writing snapshot ${file} failed (${(err as Error).message})`, { cause: err });
    }
    // Only now is the snapshot durable, so only now may what it replaces go.
    const removed = await removeSuperseded(this.opts.fs, this.dir, seq);
    this.opts.log(`coord store: snapshot ${file} written (${state.length} bytes), ${removed} superseded files removed`);
  }

  private async shutdown(): Promise<void> {
    const last = this.queue.at(-1) ?? this.inFlight;
    try {
      await last?.done.promise;
    } finally {
      while (this.draining) await this.draining;
      await this.snapshots;
      await this.fh.close();
    }
    if (this.failure) return;
    try {
      await recordCleanStop(this.opts.fs, this.dir, this.seq, this.size, this.counters);
    } catch (err) {
      this.opts.log(`coord store: could not record a clean stop in ${this.dir} (${(err as Error).message}); the next start rewrites the last log segment`);
    }
  }
}

/** Deletes segments and snapshots older than snapshot `seq`; returns how many. */
async function removeSuperseded(fs: StoreFs, dir: string, seq: number): Promise<number> {
  let removed = 0;
  for (const name of await fs.readdir(dir)) {
    const m = SEGMENT_FILE.exec(name) ?? SNAPSHOT_FILE.exec(name);
    if (m && Number(m[1]) < seq) {
      await fs.rm(join(dir, name));
      removed++;
    }
  }
  return removed;
}
