import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isPlainSentence, publicMessage } from './public-message.ts';

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

  it("keeps a service's plain sentence for users", () => {
    const plain = [
      'at most 2 items per order',
      'no instances of orders',
      'book "The Odyssey" is already on shelf 3',
      'shelves/1/books/2 was not found',
      'the quantity must be between 1 and 99.5, e.g. 12',
      'read/write access is needed for this shelf',
      'field page_size must be positive',
      'this method requires scope books:write orders:read',
      'Für diese Bestellung fehlt die Adresse.',
    ];
    for (const m of plain) {
      assert.ok(isPlainSentence(m), m);
      assert.equal(publicMessage(grpc.status.INVALID_ARGUMENT, m), m);
    }
  });

  it('replaces anything else, and every UNKNOWN, INTERNAL and DATA_LOSS message, by the sentence for the code', () => {
    const internal: Array<[grpc.status, string]> = [
      [grpc.status.UNAVAILABLE, 'cannot reach fd00:10:96::1a:5432'],
      [grpc.status.UNAVAILABLE, 'dial fd00::2 failed'],
      [grpc.status.UNAVAILABLE, 'db [fd00::2]:5432 refused'],
      [grpc.status.FAILED_PRECONDITION, 'replica orders-db.prod.internal is read-only'],
      [grpc.status.UNAVAILABLE, 'upstream payments.svc.cluster.local:8443 is down'],
      [grpc.status.NOT_FOUND, 'no such file /var/lib/orders/ledger.db'],
      [grpc.status.NOT_FOUND, 'open C:\\srv\\orders.db failed'],
      [grpc.status.NOT_FOUND, 'config ./conf/orders missing'],
      [grpc.status.ABORTED, 'db 10.0.0.7 refused'],
      [grpc.status.ABORTED, 'db orders:5432 refused'],
      [grpc.status.ABORTED, 'db fd00:beef:cafe refused'],
      [grpc.status.ABORTED, 'handler.go failed'],
      [grpc.status.ABORTED, 'see https://grafana.example/d/1'],
      [grpc.status.ABORTED, 'user admin@orders-db failed'],
      [grpc.status.ABORTED, 'retry with conn=7'],
      [grpc.status.ABORTED, 'pointer 0xc000123456 is gone'],
      [grpc.status.UNAVAILABLE, 'connect ECONNREFUSED'],
      [grpc.status.UNAVAILABLE, 'try localhost instead'],
      [grpc.status.FAILED_PRECONDITION, 'panic: runtime error: index out of range [5] with length 3'],
      [grpc.status.FAILED_PRECONDITION, 'goroutine 7 is stuck'],
      [grpc.status.FAILED_PRECONDITION, 'TypeError: x is undefined'],
      [grpc.status.FAILED_PRECONDITION, 'boom\n    at handler (/srv/app.js:10:5)'],
      [grpc.status.FAILED_PRECONDITION, 'state &{id 7 ready}'],
      [grpc.status.INVALID_ARGUMENT, 'x'.repeat(301)],
      [grpc.status.INVALID_ARGUMENT, ''],
      [grpc.status.INVALID_ARGUMENT, '12345'],
      [grpc.status.INTERNAL, 'the ledger is busy'],
      [grpc.status.UNKNOWN, 'pq: relation orders does not exist'],
      [grpc.status.DATA_LOSS, 'checksum mismatch'],
    ];
    for (const [code, m] of internal) {
      const shown = publicMessage(code, m);
      assert.notEqual(shown, m, m);
      assert.ok(isPlainSentence(shown), shown);
    }
    assert.equal(publicMessage(grpc.status.UNAVAILABLE, 'cannot reach fd00:10:96::1a:5432'), 'the service is unavailable');
    assert.equal(publicMessage(grpc.status.NOT_FOUND, 'no such file /var/lib/orders/ledger.db'), 'not found');
    assert.equal(publicMessage(grpc.status.INTERNAL, 'the ledger is busy'), 'the service failed');
    const goPanic = 'panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]\n\ngoroutine 1 [running]:\nmain.(*server).Get(...)\n\t/src/orders/server.go:42 +0x1d';
    assert.equal(publicMessage(grpc.status.FAILED_PRECONDITION, goPanic), 'the request cannot be carried out in the current state');
  });
});
