import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endingReadyStatus, MessageFramer, query, readStartupPacket, readyForQuery, sync, WireError } from './pg-wire.ts';

test('MessageFramer: messages fed byte by byte, and several in one chunk, come out whole and in order', () => {
  const stream = Buffer.concat([query('SELECT 1'), sync(), query('SELECT 2')]);
  const byByte = new MessageFramer(1024);
  const out: Buffer[] = [];
  for (const b of stream) {
    byByte.push(Buffer.from([b]));
    for (let m = byByte.next(); m; m = byByte.next()) out.push(m);
  }
  assert.deepEqual(out, [query('SELECT 1'), sync(), query('SELECT 2')]);
  assert.equal(byByte.buffered, 0);

  const oneChunk = new MessageFramer(1024);
  oneChunk.push(Buffer.concat([stream, query('SELECT 3').subarray(0, 4)]));
  assert.deepEqual([oneChunk.next(), oneChunk.next(), oneChunk.next(), oneChunk.next()], [query('SELECT 1'), sync(), query('SELECT 2'), undefined]);
  assert.equal(oneChunk.buffered, 4, 'the start of the next message waits for the rest');
});

test('MessageFramer: a length over the limit or under 4 is a WireError with its SQLSTATE', () => {
  const big = new MessageFramer(8);
  big.push(query('SELECT 12345'));
  assert.throws(() => big.next(), (e) => e instanceof WireError && e.code === '54000' && /limit of 8 bytes/.test(e.message));
  const short = new MessageFramer(8);
  short.push(Buffer.from([0x51, 0, 0, 0, 3]));
  assert.throws(() => short.next(), (e) => e instanceof WireError && e.code === '08P01');
});

test('readStartupPacket: waits for the whole packet; reads parameters; rejects a missing terminator', () => {
  const body = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const packet = Buffer.alloc(8 + body.length);
  packet.writeInt32BE(packet.length, 0);
  packet.writeInt32BE(196608, 4);
  body.copy(packet, 8);
  assert.equal(readStartupPacket(packet.subarray(0, 10)), undefined);
  const read = readStartupPacket(packet);
  assert.equal(read?.size, packet.length);
  assert.deepEqual(read?.packet.kind === 'startup' && [...read.packet.params], [['user', 'postgres'], ['database', 'postgres']]);
  const bad = packet.subarray(0, -1);
  bad.writeInt32BE(bad.length, 0);
  assert.throws(() => readStartupPacket(bad), (e) => e instanceof WireError && e.code === '08P01');
});

test('endingReadyStatus: the status of a final ReadyForQuery only', () => {
  assert.equal(endingReadyStatus(Buffer.concat([query('x'), readyForQuery('T')])), 'T');
  assert.equal(endingReadyStatus(Buffer.concat([readyForQuery('I'), query('x')])), undefined);
  assert.equal(endingReadyStatus(Buffer.alloc(0)), undefined);
});
