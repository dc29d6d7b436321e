import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, open, readFile, readdir, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { crc32, crc32Js } from './crc32.ts';
import {
  BATCH_HEADER_BYTES,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  parseSegment,
  segmentName,
  snapshotName,
} from './wal-segment.ts';
import { Wal, WalCorruptionError, isWalCorruptionError, type WalOptions } from './wal.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coord-wal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

// Every log a test opens, closed at the end: several tests only read a log back and leave it
// open, and Node 26 fails a run whose FileHandle is closed by the garbage collector.
const openedWals = new Set<Wal>();
after(() => Promise.allSettled([...openedWals].map((w) => w.close())));

async function openWal(dir: string, options: WalOptions = {}) {
  const lines: string[] = [];
  const opened = await Wal.open(dir, { log: (l) => lines.push(l), ...options });
  openedWals.add(opened.wal);
  return { ...opened, lines, records: opened.recovery.records.map(String) };
}

const rec = (i: number, size = 12 + (i % 5)) => Buffer.from(`r${i}:`.padEnd(size, String.fromCharCode(97 + (i % 26))));
const strs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => String(rec(from + i)));

/** Appends one record per write (each awaited), returning where each record's frame starts. */
async function appendEach(wal: Wal, records: Buffer[], start = SEGMENT_HEADER_BYTES): Promise<number[]> {
  const at: number[] = [];
  for (const r of records) {
    await wal.append(r);
    at.push(start + BATCH_HEADER_BYTES);
    start += BATCH_HEADER_BYTES + RECORD_HEADER_BYTES + r.length;
  }
  return at;
}

async function flipByte(file: string, offset: number): Promise<void> {
  const buf = await readFile(file);
  buf[offset] ^= 0x10;
  await writeFile(file, buf);
}

async function rejectsCorrupt(dir: string, file: string, offset: number): Promise<void> {
  await assert.rejects(Wal.open(dir, { log: () => {} }), (err: unknown) => {
    assert.ok(err instanceof WalCorruptionError && isWalCorruptionError(err));
    assert.equal(err.file, file);
    assert.equal(err.offset, offset);
    assert.match(err.message, new RegExp(`data file ${file} is corrupt at offset ${offset} \\(.+\\); refusing to start`));
    return true;
  });
}

test('crc32: native and JS fallback agree, including continuation', () => {
  const check = Buffer.from('123456789');
  assert.equal(crc32Js(check), 0xcbf43926);
  assert.equal(crc32(check), 0xcbf43926);
  const data = randomBytes(10_000);
  assert.equal(crc32Js(data), crc32(data));
  assert.equal(crc32Js(data.subarray(777), crc32Js(data.subarray(0, 777))), crc32(data));
});

test('round trip: records come back in order, byte for byte', async (t) => {
  const dir = await tempDir(t);
  const first = await openWal(dir);
  assert.deepEqual(first.recovery, { snapshot: null, records: [] });
  const records = [rec(1), Buffer.alloc(0), randomBytes(100_000), rec(2)];
  await Promise.all(records.map((r) => first.wal.append(r)));
  await first.wal.close();
  const again = await openWal(dir);
  assert.deepEqual(again.recovery.records, records);
  assert.deepEqual(again.lines, []);
  assert.equal(again.wal.bytesSinceSnapshot, (await stat(join(dir, segmentName(1)))).size - SEGMENT_HEADER_BYTES);
  await again.wal.close();
});

test('append resolves after an fdatasync; concurrent appends share them (group commit)', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  // Watch the real file calls: an append may only resolve after a datasync that followed its write.
  const probe = await open(join(dir, segmentName(1)), 'r');
  const proto = Object.getPrototypeOf(probe) as Pick<FileHandle, 'write' | 'datasync'>;
  await probe.close();
  const events: string[] = [];
  const { write, datasync } = proto;
  t.mock.method(proto, 'write', function (this: FileHandle, ...args: Parameters<FileHandle['write']>) {
    events.push('write');
    return write.apply(this, args);
  });
  t.mock.method(proto, 'datasync', async function (this: FileHandle) {
    await datasync.call(this);
    events.push('datasync');
  });
  await wal.append(rec(0)).then(() => events.push('resolved'));
  assert.deepEqual(events, ['write', 'datasync', 'resolved']);
  let fsyncs = wal.stats.fsyncs;

  fsyncs = wal.stats.fsyncs;
  await Promise.all(Array.from({ length: 1000 }, (_, i) => wal.append(rec(i + 1))));
  assert.ok(wal.stats.fsyncs - fsyncs <= 2, `1000 concurrent appends took ${wal.stats.fsyncs - fsyncs} fsyncs`);

  // Writers that each wait for their previous append still batch with one another.
  fsyncs = wal.stats.fsyncs;
  let next = 1001;
  const writer = async () => {
    for (let k = 0; k < 20; k++) await wal.append(rec(next++));
  };
  await Promise.all(Array.from({ length: 64 }, writer));
  assert.ok(wal.stats.fsyncs - fsyncs < 1280 / 8, `64 writers × 20 took ${wal.stats.fsyncs - fsyncs} fsyncs`);
  await wal.close();
  assert.deepEqual((await openWal(dir)).records, strs(next));
});

test('torn tail at every byte offset of the last records: prefix recovered, one log line', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  await appendEach(wal, strs(6).map((s) => Buffer.from(s)));
  await Promise.all([6, 7, 8].map((i) => wal.append(rec(i)))); // one multi-record batch
  await wal.close();
  const segment = await readFile(join(dir, segmentName(1)));

  const recordEnds: number[] = [];
  const batchEnds = new Set<number>();
  let pos = SEGMENT_HEADER_BYTES;
  for (const batch of [[0], [1], [2], [3], [4], [5], [6, 7, 8]]) {
    pos += BATCH_HEADER_BYTES;
    for (const i of batch) recordEnds.push((pos += RECORD_HEADER_BYTES + rec(i).length));
    batchEnds.add(pos);
  }
  assert.equal(pos, segment.length);

  const work = join(dir, 'cut');
  const file = join(work, segmentName(1));
  for (let cut = recordEnds[2]; cut < segment.length; cut++) {
    await rm(work, { recursive: true, force: true });
    await openWal(work).then(({ wal }) => wal.close());
    await writeFile(file, segment.subarray(0, cut));
    const expected = strs(recordEnds.filter((end) => end <= cut).length);

    const torn = await openWal(work);
    assert.deepEqual(torn.records, expected, `cut at ${cut}`);
    assert.equal(torn.lines.length, 1, `cut at ${cut}`);
    // The file no longer has the size the clean close recorded: rewritten either way.
    if (batchEnds.has(cut)) assert.match(torn.lines[0], new RegExp(`${file} rewritten to a fresh file after an unclean stop`));
    else assert.match(torn.lines[0], new RegExp(`torn tail in ${file} at offset \\d+`));
    await torn.wal.append(Buffer.from('after'));
    await torn.wal.close();
    const next = await openWal(work);
    assert.deepEqual(next.records, [...expected, 'after'], `cut at ${cut}, reopened`);
    assert.deepEqual(next.lines, []);
    await next.wal.close();
  }
});

test('zero-filled tail is truncated and reported once', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  await appendEach(wal, [rec(0), rec(1)]);
  await wal.close();
  const file = join(dir, segmentName(1));
  const size = (await stat(file)).size;
  await writeFile(file, Buffer.alloc(4096), { flag: 'a' });
  const reopened = await openWal(dir);
  assert.deepEqual(reopened.records, strs(2));
  assert.deepEqual(reopened.lines, [
    `coord store: torn tail in ${file} at offset ${size} (zero-filled tail); truncated 4096 bytes, appending from offset ${size}`,
  ]);
  await reopened.wal.close();
  assert.equal((await stat(file)).size, size);
});

test('bit flip in a middle record or batch header is corruption naming file and offset', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  const at = await appendEach(wal, strs(5).map((s) => Buffer.from(s)));
  await wal.close();
  const file = join(dir, segmentName(1));
  const pristine = await readFile(file);

  await flipByte(file, at[2] + RECORD_HEADER_BYTES + 3); // payload of record 2
  await rejectsCorrupt(dir, file, at[2]);

  await writeFile(file, pristine);
  await flipByte(file, at[1] - BATCH_HEADER_BYTES + 5); // count field of record 1's batch header
  await rejectsCorrupt(dir, file, at[1] - BATCH_HEADER_BYTES);
});

test('bit flip in the last record is a torn tail', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  const at = await appendEach(wal, strs(4).map((s) => Buffer.from(s)));
  await wal.close();
  const file = join(dir, segmentName(1));
  await flipByte(file, at[3] + RECORD_HEADER_BYTES);
  const reopened = await openWal(dir);
  assert.deepEqual(reopened.records, strs(3));
  assert.equal(reopened.lines.length, 1);
  assert.match(reopened.lines[0], new RegExp(`${file} at offset ${at[3]} \\(checksum mismatch\\)`));
  await reopened.wal.close();
});

test('only the last write can be torn: damage inside it keeps the intact prefix', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  const at = await appendEach(wal, [rec(0)]);
  await Promise.all([1, 2, 3].map((i) => wal.append(rec(i))));
  await wal.close();
  const file = join(dir, segmentName(1));
  // Pages of an unfinished write can land out of order: record 2 missing, record 3 present.
  const second = at[0] + RECORD_HEADER_BYTES + rec(0).length + BATCH_HEADER_BYTES + RECORD_HEADER_BYTES + rec(1).length;
  const buf = await readFile(file);
  buf.fill(0, second, second + RECORD_HEADER_BYTES + rec(2).length);
  await writeFile(file, buf);
  const reopened = await openWal(dir);
  assert.deepEqual(reopened.records, strs(2));
  assert.equal(reopened.lines.length, 1);
  await reopened.wal.close();
});

test('segments roll over by size; damage in a non-last segment or a missing one is corruption', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir, { segmentBytes: 200 });
  const records = Array.from({ length: 40 }, (_, i) => rec(i, 16));
  await appendEach(wal, records);
  await wal.close();
  const names = (await readdir(dir)).filter((n) => n.endsWith('.log')).sort();
  assert.ok(names.length > 4, `${names.length} segments`);
  assert.deepEqual(names, names.map((_, i) => segmentName(i + 1)));
  for (const n of names.slice(0, -1)) assert.ok((await stat(join(dir, n))).size >= 200);
  assert.deepEqual((await openWal(dir)).recovery.records, records);

  // The last record of segment 2 would be a torn tail were segment 2 the last; it is not.
  const second = join(dir, names[1]);
  const pristine = await readFile(second);
  await flipByte(second, pristine.length - 1);
  await rejectsCorrupt(dir, second, pristine.length - RECORD_HEADER_BYTES - 16);

  await writeFile(second, pristine);
  await unlink(join(dir, names[2]));
  await rejectsCorrupt(dir, join(dir, names[2]), 0);
  await unlink(join(dir, names[0]));
  await rejectsCorrupt(dir, join(dir, names[0]), 0);
});

test('a torn segment header (crash while rolling over) is repaired', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir, { segmentBytes: 100 });
  await appendEach(wal, strs(9).map((s) => Buffer.from(s)));
  await wal.close();
  const names = (await readdir(dir)).sort();
  const last = join(dir, names.at(-1)!);
  assert.equal((await stat(last)).size, SEGMENT_HEADER_BYTES, 'the last segment was just created');
  await writeFile(last, (await readFile(last)).subarray(0, 7));
  const reopened = await openWal(dir);
  assert.deepEqual(reopened.records, strs(9));
  assert.equal(reopened.lines.length, 1);
  await reopened.wal.append(rec(9));
  await reopened.wal.close();
  assert.deepEqual((await openWal(dir)).records, strs(10));
});

test('snapshot: recovery is the snapshot plus later records; older files are removed', async (t) => {
  const dir = await tempDir(t);
  const { wal, lines } = await openWal(dir);
  await wal.append(rec(0));
  await wal.append(rec(1));
  assert.ok(wal.bytesSinceSnapshot > 0);
  await wal.snapshot(Buffer.from('S1'));
  assert.equal(wal.bytesSinceSnapshot, 0);
  assert.equal(lines.length, 1);
  await wal.append(rec(2));
  // Records queued before the call are covered by the snapshot, later ones are not.
  const early = wal.append(rec(3));
  const snap = wal.snapshot(Buffer.from('S2'));
  const late = [wal.append(rec(4)), wal.append(rec(5))];
  await Promise.all([early, snap, ...late]);
  await wal.close();

  const files = (await readdir(dir)).sort();
  assert.equal(files.filter((f) => f.endsWith('.snap')).length, 1);
  const snapSeq = Number(/snap-(\d+)/.exec(files.find((f) => f.endsWith('.snap'))!)![1]);
  assert.ok(files.filter((f) => f.endsWith('.log')).every((f) => Number(/wal-(\d+)/.exec(f)![1]) >= snapSeq));
  const reopened = await openWal(dir);
  assert.equal(String(reopened.recovery.snapshot), 'S2');
  assert.deepEqual(reopened.records, strs(2, 4));
  await reopened.wal.close();
});

test('crash during a snapshot: a leftover temp file or an unfinished cleanup is harmless', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  await wal.snapshot(Buffer.from('S1'));
  await wal.append(rec(0));
  const aside = join(dir, 'aside');
  const before = (await readdir(dir)).sort();
  await Promise.all(before.map((f) => copyFile(join(dir, f), `${aside}-${f}`)));
  await wal.snapshot(Buffer.from('S2'));
  await wal.append(rec(1));
  await wal.close();

  // Crash after the rename, before old files were deleted: the newest snapshot wins.
  await Promise.all(before.map((f) => copyFile(`${aside}-${f}`, join(dir, f))));
  await Promise.all(before.map((f) => unlink(`${aside}-${f}`)));
  // Crash while writing a (later) snapshot: its temp file is garbage.
  const tmp = join(dir, `${snapshotName(99)}.tmp`);
  await writeFile(tmp, randomBytes(100));

  const reopened = await openWal(dir);
  assert.equal(String(reopened.recovery.snapshot), 'S2');
  assert.deepEqual(reopened.records, strs(1, 1));
  assert.equal(reopened.lines.length, 2);
  await reopened.wal.close();
  const after = await readdir(dir);
  assert.equal(after.filter((f) => f.endsWith('.snap')).length, 1);
  assert.ok(!after.some((f) => f.endsWith('.tmp')));
});

test('a corrupt newest snapshot refuses to start', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  await wal.append(rec(0));
  await wal.snapshot(Buffer.from('the state of the store'));
  await wal.close();
  const file = join(dir, (await readdir(dir)).find((f) => f.endsWith('.snap'))!);
  await flipByte(file, 40);
  await rejectsCorrupt(dir, file, 32);
});

test('close flushes pending appends; a closed wal rejects appends and snapshots', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  const pending = wal.append(rec(0));
  await wal.close();
  await pending;
  await assert.rejects(wal.append(rec(1)), /coord store: the write-ahead log in .+ is closed/);
  await assert.rejects(wal.snapshot(Buffer.from('x')), /is closed/);
  await wal.close();
  assert.deepEqual((await openWal(dir)).records, strs(1));
});

test('a data dir that cannot be created fails with one clear line naming it', async (t) => {
  // chmod 0500 would not stop root, so the parent is a regular file instead.
  const parent = join(await tempDir(t), 'not-a-dir');
  await writeFile(parent, 'x');
  const dir = join(parent, 'data');
  await assert.rejects(Wal.open(dir), (err: Error) => {
    assert.ok(err.message.startsWith(`coord store: cannot use data dir ${dir} (`), err.message);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

/** A segment in log format version 1 (coord before batch checksums were bound to their offset). */
function v1Segment(seq: number, batches: Buffer[][]): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt32LE(0x4c415743, 0);
  header.writeUInt32LE(1, 4);
  header.writeBigUInt64LE(BigInt(seq), 8);
  header.writeUInt32LE(crc32(header.subarray(0, 16)), 16);
  const parts = [header];
  for (const records of batches) {
    const body = Buffer.concat(
      records.map((r) => {
        const framed = Buffer.alloc(RECORD_HEADER_BYTES + r.length);
        framed.writeUInt32LE(r.length, 4);
        r.copy(framed, 8);
        framed.writeUInt32LE(crc32(framed.subarray(4)), 0);
        return framed;
      }),
    );
    const bh = Buffer.from([0xc7, 0x57, 0x42, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    bh.writeUInt32LE(records.length, 4);
    bh.writeUInt32LE(body.length, 8);
    bh.writeUInt32LE(crc32(bh.subarray(0, 12)), 12);
    parts.push(bh, body);
  }
  return Buffer.concat(parts);
}

test('a record holding a copy of a real batch does not turn a torn last batch into corruption', async (t) => {
  const dir = await tempDir(t);
  const { wal } = await openWal(dir);
  await appendEach(wal, [rec(0), rec(1)]);
  const file = join(dir, segmentName(1));
  const lastAt = (await stat(file)).size;
  const copy = (await readFile(file)).subarray(SEGMENT_HEADER_BYTES); // both batches, valid in this segment
  await wal.append(Buffer.concat([Buffer.alloc(5000, 'x'), copy, Buffer.from(' end')]));
  await wal.close();
  // The crash left the last batch's first page unwritten, a later page (with the copy) written.
  const torn = await readFile(file);
  torn.fill(0, lastAt, lastAt + 4096);
  const parsed = parseSegment(torn, file, 1, true);
  assert.deepEqual(parsed.records.map(String), strs(2));
  assert.deepEqual(parsed.repair && [parsed.repair.offset, parsed.repair.reason], [lastAt, 'bad batch marker']);
  await writeFile(file, torn);
  assert.deepEqual((await openWal(dir)).records, strs(2));
});

test('segments of log format version 1 are read; the last is rewritten in version 2 and takes appends', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, segmentName(1)), v1Segment(1, [[rec(0)], [rec(1), rec(2)]]));
  await writeFile(join(dir, segmentName(2)), v1Segment(2, [[rec(3)]]));
  const first = await openWal(dir);
  assert.deepEqual(first.records, strs(4));
  assert.deepEqual(first.lines, [`coord store: ${join(dir, segmentName(2))} rewritten in log format version 2 (older segments are read as they are)`]);
  await first.wal.append(rec(4));
  await first.wal.close();
  assert.equal((await readFile(join(dir, segmentName(1)))).readUInt32LE(4), 1);
  assert.equal((await readFile(join(dir, segmentName(2)))).readUInt32LE(4), 2);
  const again = await openWal(dir);
  assert.deepEqual(again.records, strs(5));
  assert.deepEqual(again.lines, []);
  await again.wal.close();
});

