// A simulated disk for coord store's data dir that can lose power. It keeps, per file, what is
// on stable storage (as of the last fsync/fdatasync) apart from what the process has written, and,
// per directory, which entries are stable (as of the last fsync of the directory) apart from the
// current ones (creates, renames and removals since). cut() returns the disk as it comes back
// after the power cut: only stable entries, each file with its stable bytes, except that the last
// unsynced write to a file may have reached the disk in part (torn at a random byte). The old disk
// fails every call from then on, like a process whose machine went dark.
//
// A failed fsync behaves as on Linux: the writes it covered never reach the disk (the kernel marks
// their pages clean), yet reads keep returning them from the page cache, and a later successful
// fsync of the file does not write them either; a process restarted on the same disk (no power
// cut) reads them back. Writes can also be made to fail (ENOSPC) for files whose name matches.
import { dirname, basename } from 'node:path';
import type { StoreFile, StoreFs } from '../../src/store/index.ts';

interface Inode {
  data: Buffer;
  stable: Buffer;
  /** Writes since the last fsync, oldest first. */
  unsynced: Array<{ position: number; bytes: Buffer }>;
  /** Byte ranges [start, end) whose fsync failed: in `data`, but no later fsync writes them. */
  lost: Array<[number, number]>;
}

interface Dir {
  entries: Map<string, Inode>;
  stable: Map<string, Inode>;
}

export interface PowerCutFsOptions {
  /** Make directory fsyncs do nothing: a lying disk (or a missing fsync) that a cut must expose. */
  ignoreDirSyncs?: boolean;
  /** Make file fsyncs do nothing. */
  ignoreFileSyncs?: boolean;
  /**
   * How long an fsync takes, in ms. Default 1. A disk that syncs in no time would finish every
   * write + fsync within one turn of the event loop, and no cut could land between them.
   */
  syncMs?: number;
}

export interface PowerCutStats {
  fileSyncs: number;
  dirSyncs: number;
  /** Log segments created (`wal-*.log` opened with `wx`). */
  segmentsCreated: number;
  /** Snapshots put in place (renames to `snap-*.snap`). */
  snapshotsInstalled: number;
  /** Files that came back from a cut with part of their last unsynced write. */
  tornWrites: number;
  /** Files or entries whose unsynced changes a cut threw away. */
  lostChanges: number;
  /** Snapshot temp files opened for writing (`snap-*.snap.tmp`): one per snapshot attempt. */
  snapshotAttempts: number;
  /** Writes refused by failWrites(). */
  failedWrites: number;
}

function ioError(message: string, code = 'EIO'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

export class PowerCutFs implements StoreFs {
  readonly stats: PowerCutStats = { fileSyncs: 0, dirSyncs: 0, segmentsCreated: 0, snapshotsInstalled: 0, tornWrites: 0, lostChanges: 0, snapshotAttempts: 0, failedWrites: 0 };
  private readonly dirs = new Map<string, Dir>();
  private dead = false;
  private syncsFail = false;
  private writesFail: RegExp | undefined;

  constructor(private readonly options: PowerCutFsOptions = {}) {}

  /** From now on every fsync fails with EIO (the disk is still readable and writable). */
  failSyncs(): void {
    this.syncsFail = true;
  }

  /** fsyncs work again (what failed stays lost), as after a transient error. */
  healSyncs(): void {
    this.syncsFail = false;
  }

  /** Writes to files whose name matches `names` fail with ENOSPC (a full disk); undefined: none do. */
  failWrites(names: RegExp | undefined): void {
    this.writesFail = names;
  }

  /**
   * Cuts the power: this disk fails every call from now on; returns the disk as found after
   * restart. `random` picks how much of each file's last unsynced write survives.
   */
  cut(random: () => number): PowerCutFs {
    this.dead = true;
    const next = new PowerCutFs(this.options);
    Object.assign(next.stats, this.stats);
    const copies = new Map<Inode, Inode>();
    for (const [path, dir] of this.dirs) {
      const entries = new Map<string, Inode>();
      for (const [name, inode] of dir.stable) {
        let copy = copies.get(inode);
        if (!copy) {
          const data = survivor(inode, random, next.stats);
          copy = { data, stable: data, unsynced: [], lost: [] };
          copies.set(inode, copy);
        }
        entries.set(name, copy);
      }
      for (const [name, inode] of dir.entries) if (dir.stable.get(name) !== inode) next.stats.lostChanges++;
      next.dirs.set(path, { entries, stable: new Map(entries) });
    }
    return next;
  }

  private check(): void {
    if (this.dead) throw ioError('the disk lost power');
  }

  /** An fsync's time on the platter; the power may go meanwhile, and then it never completes. */
  private async spin(): Promise<void> {
    this.check();
    await new Promise((resolve) => setTimeout(resolve, this.options.syncMs ?? 1));
    this.check();
  }

  private dir(path: string): Dir {
    const d = this.dirs.get(path);
    if (!d) throw ioError(`no such directory ${path}`, 'ENOENT');
    return d;
  }

  async mkdir(path: string): Promise<void> {
    this.check();
    // Directory creation is taken as durable at once: the data dir exists before the store runs.
    if (!this.dirs.has(path)) this.dirs.set(path, { entries: new Map(), stable: new Map() });
  }

  async readdir(path: string): Promise<string[]> {
    this.check();
    return [...this.dir(path).entries.keys()].sort();
  }

  async readFile(path: string): Promise<Buffer> {
    this.check();
    const inode = this.dir(dirname(path)).entries.get(basename(path));
    if (!inode) throw ioError(`no such file ${path}`, 'ENOENT');
    return Buffer.from(inode.data);
  }

  async rename(from: string, to: string): Promise<void> {
    this.check();
    const d = this.dir(dirname(from));
    const inode = d.entries.get(basename(from));
    if (!inode) throw ioError(`no such file ${from}`, 'ENOENT');
    d.entries.delete(basename(from));
    this.dir(dirname(to)).entries.set(basename(to), inode);
    if (/^snap-\d+\.snap$/.test(basename(to))) this.stats.snapshotsInstalled++;
  }

  async rm(path: string): Promise<void> {
    this.check();
    this.dirs.get(dirname(path))?.entries.delete(basename(path));
  }

  async open(path: string, flags: 'r' | 'r+' | 'w' | 'wx'): Promise<StoreFile> {
    this.check();
    if (flags === 'r' && this.dirs.has(path)) return this.dirHandle(this.dirs.get(path)!);
    const d = this.dir(dirname(path));
    const name = basename(path);
    let inode = d.entries.get(name);
    if (flags === 'wx' && inode) throw ioError(`file exists ${path}`, 'EEXIST');
    if ((flags === 'r' || flags === 'r+') && !inode) throw ioError(`no such file ${path}`, 'ENOENT');
    if (!inode) {
      inode = { data: Buffer.alloc(0), stable: Buffer.alloc(0), unsynced: [], lost: [] };
      d.entries.set(name, inode);
      if (/^wal-\d+\.log$/.test(name)) this.stats.segmentsCreated++;
    } else if (flags === 'w') {
      inode.data = Buffer.alloc(0);
      inode.lost = [];
      inode.unsynced.push({ position: 0, bytes: Buffer.alloc(0) });
    }
    if (/^snap-\d+\.snap\.tmp$/.test(name)) this.stats.snapshotAttempts++;
    return this.fileHandle(inode, name);
  }

  private dirHandle(d: Dir): StoreFile {
    const sync = async () => {
      await this.spin();
      if (this.syncsFail) throw ioError('fsync failed');
      this.stats.dirSyncs++;
      if (!this.options.ignoreDirSyncs) d.stable = new Map(d.entries);
    };
    const refuse = async () => {
      throw ioError('is a directory', 'EISDIR');
    };
    return { write: refuse, truncate: refuse, datasync: sync, sync, close: async () => {} };
  }

  private fileHandle(inode: Inode, name: string): StoreFile {
    const sync = async () => {
      await this.spin();
      if (this.syncsFail) {
        // Linux marks the pages clean: they stay readable and are never written.
        for (const w of inode.unsynced) if (w.bytes.length > 0) inode.lost.push([w.position, w.position + w.bytes.length]);
        inode.unsynced = [];
        throw ioError('fsync failed');
      }
      this.stats.fileSyncs++;
      if (this.options.ignoreFileSyncs) return;
      const stable = Buffer.from(inode.data);
      for (const [start, end] of inode.lost) {
        stable.fill(0, start, Math.min(end, stable.length));
        inode.stable.copy(stable, start, Math.min(start, inode.stable.length), Math.min(end, inode.stable.length));
      }
      inode.stable = stable;
      inode.unsynced = [];
    };
    return {
      write: async (buf, offset, length, position) => {
        this.check();
        if (this.writesFail?.test(name)) {
          this.stats.failedWrites++;
          throw ioError('no space left on device', 'ENOSPC');
        }
        const bytes = Buffer.from(buf.subarray(offset, offset + length));
        inode.data = overlay(inode.data, position, bytes);
        inode.unsynced.push({ position, bytes });
        inode.lost = subtract(inode.lost, position, position + length);
        return { bytesWritten: length };
      },
      truncate: async (length) => {
        this.check();
        inode.data = Buffer.from(inode.data.subarray(0, length));
        inode.unsynced.push({ position: length, bytes: Buffer.alloc(0) });
        inode.lost = subtract(inode.lost, length, Infinity);
      },
      datasync: sync,
      sync,
      close: async () => {},
    };
  }
}

/** `ranges` without [start, end): a new write dirties those bytes again. */
function subtract(ranges: Array<[number, number]>, start: number, end: number): Array<[number, number]> {
  return ranges.flatMap(([s, e]): Array<[number, number]> => {
    if (e <= start || s >= end) return [[s, e]];
    const out: Array<[number, number]> = [];
    if (s < start) out.push([s, start]);
    if (e > end) out.push([end, e]);
    return out;
  });
}

/** `base` with `bytes` written at `position` (zero-filled up to it). */
function overlay(base: Buffer, position: number, bytes: Buffer): Buffer {
  const out = Buffer.alloc(Math.max(base.length, position + bytes.length));
  base.copy(out);
  bytes.copy(out, position);
  return out;
}

/** What a file holds after the cut: its stable bytes, plus a random prefix of its last unsynced write. */
function survivor(inode: Inode, random: () => number, stats: PowerCutStats): Buffer {
  const last = inode.unsynced.at(-1);
  if (inode.unsynced.length > 0) stats.lostChanges++;
  if (!last || last.bytes.length === 0) return Buffer.from(inode.stable);
  const kept = Math.floor(random() * (last.bytes.length + 1));
  if (kept === 0) return Buffer.from(inode.stable);
  stats.tornWrites++;
  return overlay(inode.stable, last.position, last.bytes.subarray(0, kept));
}
