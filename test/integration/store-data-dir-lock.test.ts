// One data dir, one store: a second `coord store` on a dir in use refuses to start with one line
// naming the holder and leaves its data alone; once the holder is killed (-9, no clean-up), a new
// store takes the dir at once.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { join } from 'node:path';
import { startStore } from '../../src/store/index.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { makeTempDir, removeTempDir, runStoreToExit, startStoreProcess, stopAllStoreProcesses } from '../helpers/store-process.ts';

describe('coord store data-dir lock', () => {
  const root = makeTempDir('coord-dir-lock-');
  after(async () => {
    await stopAllStoreProcesses();
    removeTempDir(root);
  });

  it('a second store on the same dir exits 1 with one line naming the holder; the first keeps its data', async () => {
    const dir = join(root, 'shared');
    const first = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    const client = new RawClient(first.endpoint);
    try {
      await client.put({ key: 'k', value: 'v1' });
      const second = await runStoreToExit(['--data-dir', dir, '--listen', '127.0.0.1:0']);
      assert.equal(second.code, 1);
      const lines = second.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, second.stderr);
      assert.match(lines[0], new RegExp(`data dir .*shared is in use by another coord store \\(pid ${first.pid} serving ${first.endpoint.replace(/\./g, '\\.')}, since `));
      await client.put({ key: 'k', value: 'v2' });
      assert.equal((await client.range({ key: 'k' })).kvs[0].value.toString(), 'v2');
    } finally {
      client.close();
    }
    await first.kill('SIGKILL');
    const next = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    const again = new RawClient(next.endpoint);
    try {
      assert.equal((await again.range({ key: 'k' })).kvs[0].value.toString(), 'v2', 'the killed store left no stale lock and no lost write');
    } finally {
      again.close();
      await next.kill('SIGTERM');
    }
  });

  it('in one process too: startStore refuses a dir another store holds and takes it after close()', async () => {
    const dir = join(root, 'in-process');
    const a = await startStore({ listen: '127.0.0.1:0', dataDir: dir });
    await assert.rejects(startStore({ listen: '127.0.0.1:0', dataDir: dir }), (e: Error) => e.message.includes(`is in use by another coord store (pid ${process.pid} serving ${a.endpoint}`));
    await a.close();
    const b = await startStore({ listen: '127.0.0.1:0', dataDir: dir });
    await b.close();
  });
});
