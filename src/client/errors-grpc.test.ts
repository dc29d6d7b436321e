import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { fromGrpcError, unreachableCause } from './errors-grpc.ts';

describe('fromGrpcError for an unreachable etcd', () => {
  it('says where, why and what coord was doing in one sentence', () => {
    // What grpc-js reports today for a refused connection (issue 21).
    const details = 'No connection established. Last error: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:25379. Resolution note: ';
    const e = fromGrpcError({ code: status.UNAVAILABLE, details }, 'etcd LeaseGrant', ['127.0.0.1:25379']);
    assert.equal(e.code, 'unavailable');
    assert.equal(e.message, 'etcd LeaseGrant: cannot reach etcd at 127.0.0.1:25379 (connection refused) while granting a lease');
  });

  it('names the cause in words', () => {
    assert.equal(unreachableCause('connect ETIMEDOUT 10.0.0.1:2379'), 'connection timed out');
    assert.equal(unreachableCause('getaddrinfo ENOTFOUND etcd-0'), 'host name not found');
    assert.equal(unreachableCause('Deadline exceeded after 5.001s'), 'no answer in time');
    assert.equal(unreachableCause('No connection established. Last error: something odd. Resolution note: '), 'something odd');
    // A TLS failure keeps its reason (what grpc-js reports for a certificate naming another address).
    assert.equal(
      unreachableCause("No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: 127.0.0.9. Resolution note: "),
      "TLS handshake failed: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: 127.0.0.9",
    );
    assert.equal(unreachableCause('No connection established. Last error: Error: self-signed certificate. Resolution note: '), 'TLS handshake failed: self-signed certificate');
  });
});
