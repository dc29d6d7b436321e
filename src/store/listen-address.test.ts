import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopbackListen } from './listen-address.ts';

test('loopback addresses are recognised; wildcards and other hosts are not', () => {
  for (const l of ['127.0.0.1:2379', '127.0.0.2:0', 'localhost:2379', 'LOCALHOST:1', '[::1]:2379', '[0:0:0:0:0:0:0:1]:1', '[::ffff:127.0.0.1]:2379']) {
    assert.equal(isLoopbackListen(l), true, l);
  }
  for (const l of ['0.0.0.0:2379', '[::]:2379', '10.0.0.5:2379', '192.168.1.2:0', '[fd00::1]:2379', '[::ffff:10.0.0.1]:1', 'etcd.internal:2379', '[::2]:1']) {
    assert.equal(isLoopbackListen(l), false, l);
  }
});
