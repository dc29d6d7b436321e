// The pin on grpc-js: etcd-coord/grpc is built on grpc-js's experimental resolver and balancer API,
// which may change in any minor release. These tests name exactly what coord relies on, so an
// upgrade that moves it fails here with the reason, not as a mysteriously hanging channel.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isCoordError } from '../core/errors.ts';
import { resolverServiceConfig, serviceConfig, type BalancerPolicy } from './service-config.ts';
import { setup } from './setup.ts';

const require = createRequire(import.meta.url);
const API = 'coord/grpc depends on this grpc-js experimental API';

describe('grpc-js API pin', () => {
  it('runs on grpc-js 1.14.x (package.json pins ~1.14.3)', () => {
    const { version } = require('@grpc/grpc-js/package.json') as { version: string };
    assert.match(version, /^1\.14\./, `installed @grpc/grpc-js ${version}: re-run these tests and review src/grpc against its experimental API before widening the range`);
  });

  it('exports every experimental function and class coord uses', () => {
    const x = grpc.experimental as unknown as Record<string, unknown>;
    const functions = [
      'registerResolver',
      'registerLoadBalancerType',
      'createChildChannelControlHelper',
      'parseLoadBalancingConfig',
      'isLoadBalancerNameRegistered',
      'LeafLoadBalancer',
      'QueuePicker',
      'UnavailablePicker',
      'BaseSubchannelWrapper',
      'statusOrFromValue',
      'statusOrFromError',
      'splitHostPort',
      'subchannelAddressToString',
      'uriToString',
    ];
    for (const name of functions) assert.equal(typeof x[name], 'function', `grpc.experimental.${name} is missing: ${API}`);
    assert.equal(x.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX, 'grpc.internal.no_subchannel', `grpc.experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX changed: the resolver's instance attribute must stay out of subchannel args (${API})`);
    const types = x.PickResultType as Record<string, number> | undefined;
    assert.ok(types && typeof types.COMPLETE === 'number' && typeof types.QUEUE === 'number', `grpc.experimental.PickResultType changed: ${API}`);
  });

  it('keeps the methods coord calls on leaf balancers and overrides on subchannel wrappers', () => {
    const leaf = grpc.experimental.LeafLoadBalancer.prototype as unknown as Record<string, unknown>;
    for (const m of ['startConnecting', 'getConnectivityState', 'getPicker', 'exitIdle', 'destroy']) {
      assert.equal(typeof leaf[m], 'function', `LeafLoadBalancer.${m} is missing: ${API}`);
    }
    const wrapper = grpc.experimental.BaseSubchannelWrapper.prototype as unknown as Record<string, unknown>;
    for (const m of ['setHealthy', 'destroy', 'ref', 'unref', 'isHealthy', 'getChannel', 'addConnectivityStateListener']) {
      assert.equal(typeof wrapper[m], 'function', `BaseSubchannelWrapper.${m} is missing: health checks rely on it (${API})`);
    }
  });

  it('still has the service-config validator at its internal path', () => {
    const { validateServiceConfig } = require('@grpc/grpc-js/build/src/service-config.js') as { validateServiceConfig?: unknown };
    assert.equal(typeof validateServiceConfig, 'function', '@grpc/grpc-js/build/src/service-config.js no longer exports validateServiceConfig (used by src/grpc/service-config.ts)');
  });

  it('ships outlier_detection, which coord wraps its default policy in', () => {
    assert.ok(grpc.experimental.isLoadBalancerNameRegistered('outlier_detection'), 'grpc-js no longer registers outlier_detection');
  });
});

describe('setup()', () => {
  it('registers the etcd: scheme and every coord policy', () => {
    setup();
    for (const name of ['p2c_ewma', 'least_request', 'weighted_round_robin', 'random', 'ring_hash', 'round_robin']) {
      assert.ok(grpc.experimental.isLoadBalancerNameRegistered(name), name);
    }
    const client = new grpc.Client('etcd:///echo', grpc.credentials.createInsecure());
    client.close();
  });
});

describe('service configs', () => {
  setup();

  it('defaults to p2c_ewma under outlier detection', () => {
    const c = resolverServiceConfig({});
    const od = c?.loadBalancingConfig[0]?.outlier_detection as { child_policy: unknown[]; interval: unknown } | undefined;
    assert.deepEqual(od?.child_policy, [{ p2c_ewma: {} }]);
    assert.deepEqual(od?.interval, { seconds: 5, nanos: 0 });
  });

  it('leaves a user config with a balancing policy alone, and adds one to a config without', () => {
    assert.equal(resolverServiceConfig({ 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) }), null);
    const withMethods = resolverServiceConfig({ 'grpc.service_config': JSON.stringify({ methodConfig: [{ name: [{ service: 's' }], timeout: '2s' }] }) });
    assert.deepEqual(withMethods?.methodConfig[0]?.timeout, { seconds: 2, nanos: 0 });
    assert.ok(withMethods?.loadBalancingConfig[0]?.outlier_detection);
    const legacy = resolverServiceConfig({ 'grpc.service_config': JSON.stringify({ loadBalancingPolicy: 'ROUND_ROBIN' }) });
    assert.deepEqual((legacy?.loadBalancingConfig[0]?.outlier_detection as { child_policy: unknown }).child_policy, [{ round_robin: {} }]);
  });

  it('serviceConfig() builds JSON grpc-js accepts, and rejects what grpc-js would silently drop', () => {
    const json = JSON.parse(serviceConfig({ policy: { ring_hash: { hashKey: 'x-user-id' } }, outlierDetection: { max_ejection_percent: 50 } }));
    assert.equal(json.loadBalancingConfig[0].outlier_detection.max_ejection_percent, 50);
    assert.deepEqual(json.loadBalancingConfig[0].outlier_detection.child_policy, [{ ring_hash: { hashKey: 'x-user-id' } }]);
    // What a JavaScript caller can pass (TypeScript refuses both: test/typecheck/).
    const unchecked = (policy: object) => ({ policy: policy as BalancerPolicy });
    assert.throws(() => serviceConfig(unchecked({ ring_hash: {} })), (e) => isCoordError(e, 'invalid-argument') && /hashKey/.test(e.message));
    assert.throws(() => serviceConfig(unchecked({ no_such_policy: {} })), (e) => isCoordError(e, 'invalid-argument'));
    assert.throws(() => serviceConfig({ policy: { p2c_ewma: { decayMs: -1 } } }), /decayMs/);
  });
});
