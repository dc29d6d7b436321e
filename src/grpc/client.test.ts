// client()'s run-time checks and options, for JavaScript callers and raw configs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isCoordError } from '../core/errors.ts';
import { client } from './client.ts';
import type { BalancerPolicy } from './balancer-policy-types.ts';
import type { ServiceClientConstructor } from './service-types.ts';

const Echo = grpc.makeGenericClientConstructor({}, 'coord.test.Echo');

describe('client()', () => {
  it('builds the generated class on the target, with serviceConfig as grpc.service_config', () => {
    let seen: { target: string; options?: grpc.ClientOptions } | undefined;
    const Recording = function (target: string, _credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) {
      seen = { target, options };
    } as unknown as ServiceClientConstructor;
    client(Recording, 'etcd:///echo', { serviceConfig: { policy: { round_robin: {} }, outlierDetection: false }, 'grpc.max_receive_message_length': 1024 });
    assert.equal(seen?.target, 'etcd:///echo');
    assert.equal(seen?.options?.['grpc.max_receive_message_length'], 1024);
    assert.deepEqual(JSON.parse(seen?.options?.['grpc.service_config'] as string), { loadBalancingConfig: [{ round_robin: {} }] });
    const c = client(Echo, 'dns:///127.0.0.1:1');
    assert.ok(c instanceof grpc.Client);
    c.close();
  });

  it('refuses a missing constructor, an empty target and a bad policy with clear errors', () => {
    assert.throws(() => client(undefined as unknown as ServiceClientConstructor, 'etcd:///echo'), (e) => isCoordError(e, 'invalid-argument') && /generated client constructor/.test(e.message));
    assert.throws(() => client(Echo, ''), (e) => isCoordError(e, 'invalid-argument') && /target must be a non-empty string/.test(e.message));
    assert.throws(
      () => client(Echo, 'etcd:///echo', { serviceConfig: { policy: { p2c_ewm: {} } as unknown as BalancerPolicy } }),
      (e) => isCoordError(e, 'invalid-argument') && /invalid service config/.test(e.message),
    );
  });
});
