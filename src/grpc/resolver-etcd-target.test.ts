import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCoordError } from '../core/errors.ts';
import { grpcAddress, matchesFilter, parseEtcdTarget } from './resolver-etcd-target.ts';

/** Splits a target the way grpc-js's URI parser does. */
const parse = (target: string) => {
  const m = /^([a-z]+):(?:\/\/([^/]*)\/)?(.+)$/.exec(target)!;
  return parseEtcdTarget({ scheme: m[1], ...(m[2] !== undefined ? { authority: m[2] } : {}), path: m[3] });
};

describe('etcd target', () => {
  it('reads the service, endpoints, namespace and filters', () => {
    assert.deepEqual(parse('etcd:///orders'), { service: 'orders', endpoints: [], filter: { metadata: [] }, filterText: '' });
    const t = parse('etcd://10.0.0.1:2379,10.0.0.2:2379/orders?version=1.4.*,2.0.0&zone=a&meta.tier=gold&namespace=/prod');
    assert.deepEqual(t.endpoints, ['10.0.0.1:2379', '10.0.0.2:2379']);
    assert.equal(t.namespace, '/prod/');
    assert.deepEqual(t.filter, { versions: ['1.4.*', '2.0.0'], zones: ['a'], metadata: [['tier', ['gold']]] });
    assert.equal(t.filterText, 'version=1.4.*,2.0.0&zone=a&meta.tier=gold');
    assert.equal(parse('etcd:orders').service, 'orders');
  });

  it('rejects what it cannot read', () => {
    for (const bad of ['etcd:///', 'etcd:///a/b', 'etcd:///a?colour=red', 'etcd:///a?zone=', 'etcd://nohostport/a']) {
      assert.throws(() => parse(bad), (e) => isCoordError(e, 'invalid-argument'), bad);
    }
  });

  it('filters on version (exact or prefix), zone and metadata, all together', () => {
    const f = parse('etcd:///s?version=1.4.*&zone=a,b&meta.tier=gold').filter;
    const inst = (version: string, zone: string, tier: string | number) => ({ id: 'i', name: 's', endpoints: [], version, metadata: { zone, tier } });
    assert.ok(matchesFilter(f, inst('1.4.2', 'b', 'gold')));
    assert.ok(!matchesFilter(f, inst('1.5.0', 'b', 'gold')));
    assert.ok(!matchesFilter(f, inst('1.4.2', 'c', 'gold')));
    assert.ok(!matchesFilter(f, inst('1.4.2', 'a', 'basic')));
    assert.ok(matchesFilter(parse('etcd:///s?meta.shard=3').filter, { id: 'i', name: 's', endpoints: [], metadata: { shard: 3 } }), 'numbers compare as strings');
    assert.ok(!matchesFilter(f, { id: 'i', name: 's', endpoints: [] }), 'an instance without the fields does not match');
  });

  it('takes grpc:// and grpcs:// host:port endpoints, IPv6 included, and nothing else', () => {
    assert.deepEqual(grpcAddress('grpc://10.0.0.5:50051'), { host: '10.0.0.5', port: 50051 });
    assert.deepEqual(grpcAddress('grpcs://orders.internal:443/'), { host: 'orders.internal', port: 443 });
    assert.deepEqual(grpcAddress('grpc://[::1]:50051'), { host: '::1', port: 50051 });
    for (const bad of ['http://10.0.0.5:80', 'grpc://10.0.0.5', 'grpc://10.0.0.5:0', 'grpc://h:70000', 'grpc://h:1/path', 'grpc://:5']) {
      assert.equal(grpcAddress(bad), undefined, bad);
    }
  });
});
