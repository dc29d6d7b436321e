import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCoordError } from '../core/errors.ts';
import { DEFAULT_RETRY_BUDGET, methodPolicies, withMethodConfig } from './retry-policy.ts';

describe('methodPolicies', () => {
  it('maps names to gRPC method-config names, most specific by key', () => {
    const { methodConfig } = methodPolicies({
      '*': { timeoutMs: 5000 },
      'shop.Orders': { timeoutMs: 1000 },
      'shop.Orders/Get': { timeoutMs: 250 },
      '/shop.Orders/List': { waitForReady: true },
    });
    assert.deepEqual(
      methodConfig.map((m) => m.name),
      [[{}], [{ service: 'shop.Orders' }], [{ service: 'shop.Orders', method: 'Get' }], [{ service: 'shop.Orders', method: 'List' }]],
    );
    assert.deepEqual(methodConfig[1].timeout, { seconds: 1, nanos: 0 });
    // Sub-second timeouts use the object form (grpc-js misreads "0.25s").
    assert.deepEqual(methodConfig[2].timeout, { seconds: 0, nanos: 250_000_000 });
    assert.equal(methodConfig[3].waitForReady, true);
  });

  it('fills retry defaults and brings a retry budget along', () => {
    const f = methodPolicies({ 'shop.Orders/Get': { retry: {} } });
    assert.deepEqual(f.methodConfig[0].retryPolicy, {
      maxAttempts: 3,
      initialBackoff: '0.100s',
      maxBackoff: '2.000s',
      backoffMultiplier: 2,
      retryableStatusCodes: ['UNAVAILABLE'],
    });
    assert.deepEqual(f.retryThrottling, DEFAULT_RETRY_BUDGET);
    assert.equal(methodPolicies({ '*': { timeoutMs: 1 } }).retryThrottling, undefined, 'no retries, no budget');
    assert.equal(methodPolicies({ '*': { retry: {} } }, { retryBudget: false }).retryThrottling, undefined);
    assert.deepEqual(methodPolicies({ '*': { retry: {} } }, { retryBudget: { maxTokens: 100, tokenRatio: 1 } }).retryThrottling, { maxTokens: 100, tokenRatio: 1 });
  });

  it('refuses what grpc-js would reject or silently misread', () => {
    const bad = (f: () => unknown) => assert.throws(f, (e) => isCoordError(e, 'invalid-argument'));
    bad(() => methodPolicies({ 'a/b/c': {} }));
    bad(() => methodPolicies({ 'svc/': {} }));
    bad(() => methodPolicies({ '*': { timeoutMs: 0 } }));
    bad(() => methodPolicies({ '*': { retry: { maxAttempts: 1 } } }));
    bad(() => methodPolicies({ '*': { retry: { retryableStatusCodes: [] } } }));
    bad(() => methodPolicies({ '*': { retry: { retryableStatusCodes: ['NOPE' as 'OK'] } } }));
    bad(() => methodPolicies({ '*': { retry: {} } }, { retryBudget: { maxTokens: 5000, tokenRatio: 0.1 } }));
  });
});

describe('withMethodConfig', () => {
  const balancer = { loadBalancingConfig: [{ round_robin: {} }], methodConfig: [{ name: [{ service: 'shop.Orders' }, { service: 'shop.Users' }], timeout: { seconds: 9, nanos: 0 } }] };

  it('keeps the balancer part and the entries it does not replace', () => {
    const merged = withMethodConfig(balancer, methodPolicies({ 'shop.Orders': { timeoutMs: 100 } }));
    assert.deepEqual(merged.loadBalancingConfig, balancer.loadBalancingConfig);
    assert.deepEqual(merged.methodConfig, [
      { name: [{ service: 'shop.Users' }], timeout: { seconds: 9, nanos: 0 } },
      { name: [{ service: 'shop.Orders' }], timeout: { seconds: 0, nanos: 100_000_000 } },
    ]);
    assert.equal(balancer.methodConfig[0].name.length, 2, 'the input is not modified');
  });

  it('takes and returns JSON as the grpc.service_config channel option holds it', () => {
    const json = withMethodConfig(JSON.stringify(balancer), methodPolicies({ 'shop.Orders': { retry: {} }, 'shop.Users': { timeoutMs: 5 } }));
    const parsed = JSON.parse(json);
    assert.equal(parsed.methodConfig.length, 2, 'the old entry lost both names and went away');
    assert.deepEqual(parsed.retryThrottling, DEFAULT_RETRY_BUDGET);
  });
});
