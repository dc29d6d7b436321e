import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isCoordError } from '../core/errors.ts';
import type { ServiceInstance } from './instance.ts';
import { registryFormat, registryFormatNames, resolveFormats } from './registry-format.ts';

interface Fixture {
  service: string;
  records: { key: string; value: string }[];
  instances: ServiceInstance[];
}
const fixture = (name: string): Fixture => JSON.parse(readFileSync(new URL(`../../test/fixtures/registry-formats/${name}.json`, import.meta.url), 'utf8')) as Fixture;

describe('registry formats on the recorded Go bytes', () => {
  for (const name of registryFormatNames) {
    it(`${name}: decodes the framework's records and re-encodes them to the same bytes`, () => {
      const f = fixture(name);
      const fmt = registryFormat(name);
      const decoded = f.records.map((r) => fmt.decode(f.service, r.key, Buffer.from(r.value)));
      assert.deepEqual(decoded, f.instances);
      for (const [i, r] of f.records.entries()) {
        assert.ok(r.key.startsWith(fmt.prefix(f.service)), `${r.key} is under ${fmt.prefix(f.service)}`);
        const inst = f.instances[i]!;
        const leaseId = r.key.slice(r.key.lastIndexOf('/') + 1);
        assert.equal(fmt.key(inst, leaseId), r.key);
        // Byte-equal where the Go side's field order is fixed (struct fields). coord writes grpc-go
        // records without Metadata (an object there crashes Go's round_robin): the bytes of the
        // first recorded one, written by Go without Metadata.
        if (name === 'grpc-go') assert.equal(fmt.value(inst), `{"Op":0,"Addr":"${r.key.slice(f.service.length + 1)}","Metadata":null}`);
        else assert.equal(fmt.value(inst), r.value);
      }
    });
  }

  it('skips malformed records with a reason instead of throwing', () => {
    assert.match(String(registryFormat('grpc-go').decode('s', 's/x', Buffer.from('{oops'))), /^not JSON \(/);
    assert.match(String(registryFormat('grpc-go').decode('s', 's/x', Buffer.from('{"Op":1,"Addr":"a:1"}'))), /Op 1 is not an Add/);
    assert.match(String(registryFormat('go-zero').decode('s', 's/12', Buffer.from('no port'))), /not host:port/);
    assert.match(String(registryFormat('kratos').decode('s', '/microservices/s/1', Buffer.from('{"id":"1","name":"other","endpoints":[]}'))), /is not "s"/);
  });

  it('an unknown format name is an invalid-argument error naming the known ones', () => {
    assert.throws(() => resolveFormats(['coord', 'consul']), (e) => isCoordError(e, 'invalid-argument') && /unknown registry format "consul"; known: coord, grpc-go, kratos, go-zero/.test(e.message));
    assert.throws(() => registryFormat('toString'), (e) => isCoordError(e, 'invalid-argument'));
    assert.deepEqual(resolveFormats(['coord', 'grpc-go', 'grpc-go']).map((f) => f.name), ['grpc-go']);
  });
});
