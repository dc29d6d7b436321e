import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JsonCodec } from './json-codec.ts';
import { loadProtos } from './protos.ts';

const PROTO = fileURLToPath(new URL('../../test/fixtures/gateway-test.proto', import.meta.url));

describe('proto3 JSON codec', () => {
  const protos = loadProtos([PROTO]);
  const codec = new JsonCodec(protos.root);
  const everything = protos.root.lookupType('coord.gwtest.Everything');
  const roundTrip = (json: unknown) => codec.toJson(everything, everything.decode(everything.encode(codec.fromJson(everything, json)).finish()) as never) as Record<string, unknown>;

  it('formats well-known types canonically', () => {
    const out = roundTrip({ timestamp: '2024-02-29T23:59:59.5+01:00', duration: '0.000001s', floatValue: 0.1, fixed64Value: 18446744073709551615n.toString() });
    assert.equal(out.timestamp, '2024-02-29T22:59:59.500Z');
    assert.equal(out.duration, '0.000001s');
    assert.equal(out.floatValue, 0.1);
    assert.equal(out.fixed64Value, '18446744073709551615');
  });

  it('rejects timestamps out of range and impossible dates', () => {
    assert.throws(() => codec.fromJson(everything, { timestamp: '2023-02-29T00:00:00Z' }), /field "timestamp": expected a valid date/);
    assert.throws(() => codec.fromJson(everything, { timestamp: '0000-12-31T00:00:00Z' }), /between years 0001 and 9999/);
    assert.throws(() => codec.fromJson(everything, { duration: '315576000001s' }), /field "duration"/);
  });

  it('ignores unknown fields when asked to', () => {
    const lenient = new JsonCodec(protos.root, { rejectUnknownFields: false });
    assert.deepEqual(lenient.fromJson(everything, { nope: 1, int32Value: 2 }), { int32_value: 2 });
  });

  it('packs and unpacks Any by its type URL', () => {
    const any = protos.root.lookupType('google.protobuf.Any');
    const json = { '@type': 'type.googleapis.com/coord.gwtest.Shelf', id: '5', theme: 't' };
    const decoded = any.decode(any.encode(codec.fromJson(any, json)).finish());
    assert.deepEqual(codec.toJson(any, decoded as never), json);
    const wrapped = { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '2s' };
    assert.deepEqual(codec.toJson(any, any.decode(any.encode(codec.fromJson(any, wrapped)).finish()) as never), wrapped);
    assert.throws(() => codec.fromJson(any, { '@type': 'type.googleapis.com/x.Nope' }), /unknown type/);
  });
});
