import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestTimeoutMs } from './timeout.ts';

describe('request timeouts', () => {
  it('reads grpc-timeout and x-request-timeout, capped by the maximum', () => {
    assert.equal(requestTimeoutMs({}, 1000, 5000), 1000);
    assert.equal(requestTimeoutMs({ 'grpc-timeout': '250m' }, 1000, 5000), 250);
    assert.equal(requestTimeoutMs({ 'grpc-timeout': '2S' }, 1000, 5000), 2000);
    assert.equal(requestTimeoutMs({ 'grpc-timeout': '1H' }, 1000, 5000), 5000);
    assert.equal(requestTimeoutMs({ 'x-request-timeout': '1500' }, 1000, 5000), 1500);
    assert.equal(requestTimeoutMs({ 'x-request-timeout': '3s' }, 1000, 5000), 3000);
    assert.equal(requestTimeoutMs({ 'x-request-timeout': '20ms' }, 1000, 5000), 20);
  });

  it('refuses malformed values with a 400 naming the header', () => {
    assert.throws(() => requestTimeoutMs({ 'grpc-timeout': '123456789S' }, 1000, 5000), /invalid grpc-timeout header/);
    assert.throws(() => requestTimeoutMs({ 'x-request-timeout': 'soon' }, 1000, 5000), /invalid x-request-timeout header "soon"/);
    assert.throws(() => requestTimeoutMs({ 'x-request-timeout': '0' }, 1000, 5000), (e: Error & { status?: number }) => e.status === 400);
  });
});
