import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { publicMessage } from './public-message.ts';

describe('publicMessage', () => {
  it('replaces the messages grpc-js writes itself with a plain sentence for the code', () => {
    const cases: Array<[grpc.status, string, string]> = [
      [grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded after 0.002s,remote_addr=127.0.0.1:34527', 'the service did not answer in time'],
      [grpc.status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 10.1.2.3:50051', 'the service is unavailable'],
      [grpc.status.UNAVAILABLE, 'Connection dropped', 'the service is unavailable'],
      [grpc.status.INTERNAL, 'Received RST_STREAM with code 2 triggered by internal client error: Protocol error', 'the service failed'],
      [grpc.status.RESOURCE_EXHAUSTED, 'Received message larger than max (5000000 vs 4194304)', 'the request or response is too large, or the service is out of capacity'],
      [grpc.status.CANCELLED, 'Call cancelled', 'the call was cancelled'],
      [grpc.status.UNAVAILABLE, 'Name resolution failed for target etcd:///orders', 'the service is unavailable'],
    ];
    for (const [code, message, want] of cases) assert.equal(publicMessage(code, message), want, message);
  });

  it("keeps a service's own message, cutting out addresses and stack frames", () => {
    assert.equal(publicMessage(grpc.status.INVALID_ARGUMENT, 'at most 2 items per order'), 'at most 2 items per order');
    assert.equal(publicMessage(grpc.status.UNAVAILABLE, 'no instances of orders'), 'no instances of orders');
    assert.equal(publicMessage(grpc.status.INTERNAL, 'db 10.0.0.7:5432 refused, peer ipv6:[fd00::2]:80 too'), 'db <address> refused, peer <address> too');
    assert.equal(publicMessage(grpc.status.UNKNOWN, 'boom\n    at handler (/srv/app.js:10:5)\n    at x'), 'boom');
  });
});
