// The error table: exact gRPC status code and `details` string for every request etcd rejects.
// Clients (and coord's own error mapping) match on these strings, so they must be identical.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { backends } from '../helpers/backends.ts';
import { op, useBackend, type Fixture } from '../helpers/conformance.ts';
import { callError, CompareResult, CompareTarget, type RequestOp } from '../helpers/raw-client.ts';

const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

interface Case {
  name: string;
  call: (t: Fixture, p: string) => Promise<unknown>;
  code: status;
  details: string;
}

const puts = (p: string, n: number): RequestOp[] => Array.from({ length: n }, (_, i) => op.put(`${p}${i}`));

const cases: Case[] = [
  { name: 'Put with an empty key', call: (t) => t.client.put({ key: '', value: 'v' }), code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' },
  { name: 'Range with an empty key', call: (t) => t.client.range({ key: '' }), code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' },
  { name: "Range with an empty key and range_end '\\0'", call: (t) => t.client.range({ key: '', range_end: '\0' }), code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' },
  { name: 'DeleteRange with an empty key', call: (t) => t.client.deleteRange({ key: '' }), code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' },
  { name: 'Txn put with an empty key', call: (t) => t.client.txn({ success: [op.put('')] }), code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' },
  {
    name: 'Txn compare with an empty key',
    call: (t) => t.client.txn({ compare: [{ key: '', target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 0 }] }),
    code: status.INVALID_ARGUMENT,
    details: 'etcdserver: key is not provided',
  },
  { name: 'Put with an unknown lease', call: (t, p) => t.client.put({ key: p + 'k', value: 'v', lease: '31337' }), code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' },
  { name: 'Txn put with an unknown lease', call: (t, p) => t.client.txn({ success: [op.put(p + 'k', 'v', { lease: '31337' })] }), code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' },
  { name: 'LeaseRevoke of an unknown lease', call: (t) => t.client.leaseRevoke({ ID: '31337' }), code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' },
  { name: 'LeaseGrant of an existing ID', call: (t) => t.client.leaseGrant({ TTL: 60, ID: 777 }), code: status.FAILED_PRECONDITION, details: 'etcdserver: lease already exists' },
  { name: 'LeaseGrant with a TTL above 9000000000', call: (t) => t.client.leaseGrant({ TTL: '9000000001' }), code: status.OUT_OF_RANGE, details: 'etcdserver: too large lease TTL' },
  { name: 'Range at a compacted revision', call: (t, p) => t.client.range({ key: p + 'k', revision: 1 }), code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' },
  { name: 'Compact at a compacted revision', call: (t) => t.client.compact({ revision: 1 }), code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' },
  {
    name: 'Range at a future revision',
    call: async (t, p) => t.client.range({ key: p + 'k', revision: (await t.client.revision()) + 1 }),
    code: status.OUT_OF_RANGE,
    details: 'etcdserver: mvcc: required revision is a future revision',
  },
  {
    name: 'Compact at a future revision',
    call: async (t) => t.client.compact({ revision: (await t.client.revision()) + 1 }),
    code: status.OUT_OF_RANGE,
    details: 'etcdserver: mvcc: required revision is a future revision',
  },
  {
    name: 'Txn range at a future revision',
    call: async (t, p) => t.client.txn({ success: [op.get(p + 'k', { revision: (await t.client.revision()) + 1 })] }),
    code: status.OUT_OF_RANGE,
    details: 'etcdserver: mvcc: required revision is a future revision',
  },
  { name: 'Txn with 129 operations', call: (t, p) => t.client.txn({ success: puts(p, 129) }), code: status.INVALID_ARGUMENT, details: 'etcdserver: too many operations in txn request' },
  { name: 'Txn with two puts of one key', call: (t, p) => t.client.txn({ success: [op.put(p + 'k'), op.put(p + 'k')] }), code: status.INVALID_ARGUMENT, details: 'etcdserver: duplicate key given in txn request' },
  {
    name: 'Put just over 1.5 MiB',
    call: (t, p) => t.client.put({ key: p + 'big', value: Buffer.alloc(MAX_REQUEST_BYTES + 1) }),
    code: status.INVALID_ARGUMENT,
    details: 'etcdserver: request is too large',
  },
  {
    name: 'Txn just over 1.5 MiB',
    call: (t, p) => t.client.txn({ success: [op.put(p + 'big', 'x'.repeat(MAX_REQUEST_BYTES + 1))] }),
    code: status.INVALID_ARGUMENT,
    details: 'etcdserver: request is too large',
  },
  { name: 'Put with ignore_value and a value', call: (t, p) => t.client.put({ key: p + 'exists', value: 'v', ignore_value: true }), code: status.INVALID_ARGUMENT, details: 'etcdserver: value is provided' },
  { name: 'Put with ignore_value on a missing key', call: (t, p) => t.client.put({ key: p + 'missing', ignore_value: true }), code: status.INVALID_ARGUMENT, details: 'etcdserver: key not found' },
  { name: 'Put with ignore_lease and a lease', call: (t, p) => t.client.put({ key: p + 'exists', lease: 777, ignore_lease: true }), code: status.INVALID_ARGUMENT, details: 'etcdserver: lease is provided' },
  { name: 'Put with ignore_lease on a missing key', call: (t, p) => t.client.put({ key: p + 'missing', value: 'v', ignore_lease: true }), code: status.INVALID_ARGUMENT, details: 'etcdserver: key not found' },
];

describe('errors', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b);
      let p = '';

      before(async () => {
        p = t.prefix('errors');
        await t.client.put({ key: p + 'exists', value: 'v' });
        await t.client.leaseGrant({ TTL: 600, ID: 777 });
        // Compact away revision 1 so the "compacted" cases have something to hit.
        await t.client.put({ key: p + 'k', value: 'v' });
        await t.client.compact({ revision: await t.client.revision() });
      });

      for (const c of cases) {
        it(`${c.name} → ${status[c.code]} "${c.details}"`, async () => {
          const r0 = await t.client.revision();
          assert.deepEqual(await callError(c.call(t, p)), { code: c.code, details: c.details });
          assert.equal(await t.client.revision(), r0, 'a rejected request changes nothing');
        });
      }

      it('a message above the gRPC receive limit (1.5 MiB + 512 KiB) fails with RESOURCE_EXHAUSTED', async () => {
        // The details string comes from the gRPC library (grpc-go in etcd), so only the code is pinned.
        const err = await callError(t.client.put({ key: p + 'huge', value: Buffer.alloc(MAX_REQUEST_BYTES + 600 * 1024) }));
        assert.equal(err.code, status.RESOURCE_EXHAUSTED);
        assert.match(err.details, /larger than max/i);
      });
    });
  }
});
