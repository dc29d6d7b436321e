// The write-ahead log's file operations: durable segment creation, the rewrite of the last segment
// into a fresh file at recovery, and the record of a clean stop that lets a start skip it.
import { join } from 'node:path';
import type { StoreFile, StoreFs } from './store-fs.ts';
import { BATCH_HEADER_BYTES, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encodeBatch, newSegmentFormat, segmentHeader, segmentName, type SegmentFormat } from './wal-segment.ts';

/** Written by a clean close: `wal-<seq>.log <bytes>`, the last segment and its size then. */
export const CLEAN_STOP_FILE = 'wal-closed';

export async function writeAll(fh: StoreFile, buf: Buffer, position: number, length = buf.length): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

export async function syncDir(fs: StoreFs, dir: string, counters: { fsyncs: number }): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
    counters.fsyncs++;
  } finally {
    await fh.close();
  }
}

export interface OpenSegment {
  fh: StoreFile;
  format: SegmentFormat;
  /** Bytes in the file, where the next batch goes. */
  size: number;
}

/** Creates segment `seq` with its header, durably (file and directory entry). */
export async function createSegment(fs: StoreFs, dir: string, seq: number, counters: { fsyncs: number }): Promise<OpenSegment> {
  const format = newSegmentFormat();
  const fh = await fs.open(join(dir, segmentName(seq)), 'wx');
  try {
    await writeAll(fh, segmentHeader(seq, format), 0);
    await fh.datasync();
    counters.fsyncs++;
    await syncDir(fs, dir, counters);
    return { fh, format, size: SEGMENT_HEADER_BYTES };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Writes `records` (grouped `batches[i]` to a batch, as they were) as segment `seq` in a new file,
 * fsyncs it and puts it in place of the old one. After a failed fsync Linux marks the unwritten
 * pages clean and serves them from the page cache until evicted: a restart without a reboot reads
 * bytes the disk never got, and no later fsync of that file writes them. A fresh file does not
 * share that fate (PostgreSQL's and etcd's lesson from "fsyncgate"). A crash midway leaves the old
 * file and a `.tmp` that the next start removes.
 */
export async function rewriteSegment(fs: StoreFs, dir: string, seq: number, records: readonly Buffer[], batches: readonly number[], counters: { fsyncs: number }): Promise<OpenSegment> {
  const file = join(dir, segmentName(seq));
  const tmp = `${file}.tmp`;
  const format = newSegmentFormat();
  await fs.rm(tmp);
  const fh = await fs.open(tmp, 'w');
  try {
    const header = segmentHeader(seq, format);
    await writeAll(fh, header, 0);
    let size = header.length;
    let next = 0;
    for (const count of batches) {
      const group = records.slice(next, (next += count));
      const body = group.reduce((n, r) => n + RECORD_HEADER_BYTES + r.length, 0);
      const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + body);
      encodeBatch(group, body, out, format, size);
      await writeAll(fh, out, size);
      size += out.length;
    }
    await fh.datasync();
    counters.fsyncs++;
    await fs.rename(tmp, file);
    await syncDir(fs, dir, counters);
    return { fh, format, size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Records that the log was closed cleanly with segment `seq` at `size` bytes. */
export async function recordCleanStop(fs: StoreFs, dir: string, seq: number, size: number, counters: { fsyncs: number }): Promise<void> {
  const fh = await fs.open(join(dir, CLEAN_STOP_FILE), 'w');
  try {
    await writeAll(fh, Buffer.from(`${segmentName(seq)} ${size}\n`), 0);
    await fh.datasync();
    counters.fsyncs++;
  } finally {
    await fh.close();
  }
  await syncDir(fs, dir, counters);
}

/**
 * Whether the last run closed the log cleanly, leaving segment `seq` at `size` bytes; the record is
 * removed either way (not durably: a start that writes changes the size, which voids it).
 */
export async function takeCleanStop(fs: StoreFs, dir: string, names: readonly string[], seq: number, size: number): Promise<boolean> {
  if (!names.includes(CLEAN_STOP_FILE)) return false;
  const file = join(dir, CLEAN_STOP_FILE);
  const text = (await fs.readFile(file)).toString('utf8');
  await fs.rm(file);
  return text === `${segmentName(seq)} ${size}\n`;
}
