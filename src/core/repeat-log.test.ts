import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { RepeatLog } from './repeat-log.ts';

describe('RepeatLog', () => {
  it('logs the first failure, summarises repeats at most every summaryMs, and the recovery once', () => {
    mock.timers.enable({ apis: ['Date'], now: 0 });
    try {
      const lines: string[] = [];
      const log = new RepeatLog((l) => lines.push(l), 30_000);
      log.failure('cannot reach etcd at h:1 (connection refused); retrying in 100 ms', 'cannot reach etcd at h:1');
      for (let i = 0; i < 10; i++) {
        mock.timers.tick(1000);
        log.failure('cannot reach etcd at h:1 (connection refused); retrying in 900 ms', 'cannot reach etcd at h:1');
      }
      assert.equal(lines.length, 1);
      mock.timers.tick(25_000);
      log.failure('cannot reach etcd at h:1 (connection refused); retrying in 3000 ms', 'cannot reach etcd at h:1');
      assert.equal(lines[1], 'cannot reach etcd at h:1 (connection refused); retrying in 3000 ms (still failing: 12 attempts in 35 s)');
      log.failure('permission denied', 'permission denied');
      assert.equal(lines[2], 'permission denied');
      mock.timers.tick(5000);
      log.recovered('etcd answers again');
      log.recovered('etcd answers again');
      assert.deepEqual(lines.slice(3), ['etcd answers again after 13 failed attempts over 40 s']);
      assert.equal(log.failing, false);
    } finally {
      mock.timers.reset();
    }
  });
});
