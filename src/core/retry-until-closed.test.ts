import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from './backoff.ts';
import { CoordError, isCoordError } from './errors.ts';
import { retryUntilClosed, type LoopFailure } from './retry-until-closed.ts';

const quick = () => new Backoff({ initialMs: 1, maxMs: 2 });

describe('retryUntilClosed', () => {
  it('retries every kind of failure, reporting each, until an attempt succeeds', async () => {
    const failures: LoopFailure[] = [];
    const errors = [new CoordError('permission-denied', 'etcdserver: permission denied'), new CoordError('unavailable', 'down'), new Error('plain')];
    let calls = 0;
    const result = await retryUntilClosed(
      async () => {
        const e = errors[calls++];
        if (e) throw e;
        return 'done';
      },
      { signal: new AbortController().signal, backoff: quick(), onFailure: (f) => failures.push(f) },
    );
    assert.equal(result, 'done');
    assert.deepEqual(failures.map((f) => [f.failures, f.error.code]), [[1, 'permission-denied'], [2, 'unavailable'], [3, 'internal']]);
    assert.ok(failures.every((f) => f.retryInMs >= 0));
  });

  it('only the signal stops it, with the abort reason', async () => {
    const closer = new AbortController();
    let failures = 0;
    const run = retryUntilClosed(
      async () => {
        throw new CoordError('permission-denied', 'no');
      },
      {
        signal: closer.signal,
        backoff: quick(),
        onFailure: () => {
          if (++failures === 5) closer.abort(new CoordError('closed', 'closed by the owner'));
        },
      },
    );
    await assert.rejects(run, (e: unknown) => isCoordError(e, 'closed'));
    assert.equal(failures, 5);
  });
});
