// Txn: one revision per transaction, compares (every target × operator, missing keys, ranges),
// branches, nesting, inner response headers, duplicate-key rules and the operation limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { backends } from '../helpers/backends.ts';
import { kvView, op, prefixEnd, rev, useBackend } from '../helpers/conformance.ts';
import {
  callError,
  CompareResult,
  CompareTarget,
  type Compare,
  type RequestOp,
  type ResponseHeader,
  type TxnRequest,
} from '../helpers/raw-client.ts';

const DUPLICATE = { code: status.INVALID_ARGUMENT, details: 'etcdserver: duplicate key given in txn request' };
const TOO_MANY = { code: status.INVALID_ARGUMENT, details: 'etcdserver: too many operations in txn request' };

/** Inner responses carry a header with only `revision` set. */
const inner = (revision: number): ResponseHeader => ({
  cluster_id: '0',
  member_id: '0',
  revision: String(revision),
  raft_term: '0',
});

describe('txn', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b);

      it('a txn is one revision however many writes it holds', async () => {
        const p = t.prefix('one-revision');
        const r0 = await t.client.revision();
        const res = await t.client.txn({ success: [op.put(p + 'a'), op.put(p + 'b'), op.del(p + 'nope'), op.put(p + 'c')] });
        assert.equal(res.succeeded, true);
        assert.equal(rev(res.header), r0 + 1);
        const { kvs } = await t.client.range({ key: p, range_end: prefixEnd(p) });
        assert.deepEqual(kvs.map((kv) => Number(kv.mod_revision)), [r0 + 1, r0 + 1, r0 + 1]);
        assert.equal(await t.client.revision(), r0 + 1);
      });

      it('a txn that writes nothing does not bump the revision', async () => {
        const p = t.prefix('no-writes');
        await t.client.put({ key: p + 'k', value: 'v' });
        const r0 = await t.client.revision();
        const empty = await t.client.txn({});
        assert.equal(empty.succeeded, true, 'no compares = success');
        assert.deepEqual(empty.responses, []);
        assert.equal(rev(empty.header), r0);
        const reads = await t.client.txn({ success: [op.get(p + 'k')] });
        assert.equal(rev(reads.header), r0);
        const failedWithReads = await t.client.txn({
          compare: [{ key: p + 'k', target: CompareTarget.VALUE, result: CompareResult.EQUAL, value: 'other' }],
          success: [op.put(p + 'k', 'changed')],
          failure: [op.get(p + 'k')],
        });
        assert.equal(failedWithReads.succeeded, false);
        assert.equal(failedWithReads.responses[0].response, 'response_range');
        assert.equal(rev(failedWithReads.header), r0);
        const deletesNothing = await t.client.txn({ success: [op.del(p + 'nope')] });
        assert.equal(rev(deletesNothing.header), r0);
        assert.equal(await t.client.revision(), r0);
      });

      it('a range inside the txn sees the txn’s earlier writes', async () => {
        const p = t.prefix('read-own-writes');
        const r0 = await t.client.revision();
        const res = await t.client.txn({
          success: [op.get(p + 'k'), op.put(p + 'k', 'new'), op.get(p + 'k'), op.del(p + 'gone'), op.get(p, { range_end: prefixEnd(p) })],
        });
        const ranges = res.responses.filter((r) => r.response === 'response_range').map((r) => r.response_range!);
        assert.deepEqual(ranges[0].kvs, [], 'before the put');
        assert.deepEqual(ranges[1].kvs.map(kvView), [
          { key: p + 'k', value: 'new', create_revision: r0 + 1, mod_revision: r0 + 1, version: 1, lease: '0' },
        ]);
        assert.equal(ranges[2].count, '1');
      });

      it('inner responses carry a header with only the revision; nested txn headers are all zero', async () => {
        const p = t.prefix('inner-headers');
        await t.client.put({ key: p + 'k', value: 'v' });
        const r0 = await t.client.revision();
        const write = await t.client.txn({
          success: [
            op.get(p + 'k'),
            op.del(p + 'nope'),
            op.put(p + 'k', 'w'),
            op.get(p + 'k'),
            op.del(p + 'nope'),
            { request_txn: { success: [op.get(p + 'k')] } },
          ],
        });
        const top = write.header;
        assert.notEqual(top.cluster_id, '0');
        assert.notEqual(top.member_id, '0');
        assert.equal(rev(top), r0 + 1);
        const headers = write.responses.map((r) => {
          const body = r.response_range ?? r.response_put ?? r.response_delete_range ?? r.response_txn;
          return body?.header;
        });
        // Reads and no-op deletes before the first write report the old revision, after it the new.
        assert.deepEqual(headers, [inner(r0), inner(r0), inner(r0 + 1), inner(r0 + 1), inner(r0 + 1), inner(0)]);
        assert.deepEqual(write.responses[5].response_txn?.responses[0].response_range?.header, inner(r0 + 1));

        const read = await t.client.txn({ success: [op.get(p + 'k'), { request_txn: { success: [op.get(p + 'k')] } }] });
        assert.deepEqual(read.responses[0].response_range?.header, inner(r0 + 1));
        assert.deepEqual(read.responses[1].response_txn?.header, inner(0));
        assert.deepEqual(read.responses[1].response_txn?.responses[0].response_range?.header, inner(r0 + 1));
      });

      describe('compares', () => {
        // One key in a known state; each target is compared with a constant below, equal to and
        // above the key's own value. "key <op> constant" must hold for the txn to succeed.
        const expected: Record<keyof typeof CompareResult, string> = {
          EQUAL: 'FTF',
          GREATER: 'TFF',
          LESS: 'FFT',
          NOT_EQUAL: 'TFT',
        };
        for (const target of Object.keys(CompareTarget) as (keyof typeof CompareTarget)[]) {
          it(`${target} with EQUAL, GREATER, LESS, NOT_EQUAL`, async () => {
            const p = t.prefix(`compare-${target}`);
            const key = p + 'k';
            const lease = await t.client.leaseGrant({ TTL: 60 });
            const r0 = await t.client.revision();
            await t.client.put({ key, value: 'v1' });
            await t.client.put({ key, value: 'v2', lease: lease.ID });
            const id = BigInt(lease.ID);
            const constants: Record<keyof typeof CompareTarget, Partial<Compare>[]> = {
              VALUE: [{ value: 'v1' }, { value: 'v2' }, { value: 'v3' }],
              VERSION: [{ version: 1 }, { version: 2 }, { version: 3 }],
              CREATE: [{ create_revision: r0 }, { create_revision: r0 + 1 }, { create_revision: r0 + 2 }],
              MOD: [{ mod_revision: r0 + 1 }, { mod_revision: r0 + 2 }, { mod_revision: r0 + 3 }],
              LEASE: [{ lease: String(id - 1n) }, { lease: String(id) }, { lease: String(id + 1n) }],
            };
            for (const result of Object.keys(CompareResult) as (keyof typeof CompareResult)[]) {
              let outcome = '';
              for (const constant of constants[target]) {
                const res = await t.client.txn({
                  compare: [{ key, target: CompareTarget[target], result: CompareResult[result], ...constant }],
                });
                outcome += res.succeeded ? 'T' : 'F';
              }
              assert.equal(outcome, expected[result], `${target} ${result} (below, equal, above)`);
            }
            await t.client.leaseRevoke({ ID: lease.ID });
          });
        }

        it('a missing key compares as zero for VERSION/CREATE/MOD/LEASE and never matches VALUE', async () => {
          const key = t.prefix('compare-missing') + 'nope';
          const outcome = async (compare: Omit<Compare, 'key'>): Promise<boolean> =>
            (await t.client.txn({ compare: [{ key, ...compare }] })).succeeded;
          const zero = { VERSION: { version: 0 }, CREATE: { create_revision: 0 }, MOD: { mod_revision: 0 }, LEASE: { lease: 0 } };
          for (const [target, constant] of Object.entries(zero) as [keyof typeof zero, Partial<Compare>][]) {
            const row = [];
            for (const result of [CompareResult.EQUAL, CompareResult.GREATER, CompareResult.LESS, CompareResult.NOT_EQUAL]) {
              row.push(await outcome({ target: CompareTarget[target], result, ...constant }));
            }
            assert.deepEqual(row, [true, false, false, false], `${target} vs 0: EQUAL, GREATER, LESS, NOT_EQUAL`);
          }
          assert.equal(await outcome({ target: CompareTarget.VERSION, result: CompareResult.LESS, version: 1 }), true);
          for (const result of [CompareResult.EQUAL, CompareResult.GREATER, CompareResult.LESS, CompareResult.NOT_EQUAL]) {
            assert.equal(await outcome({ target: CompareTarget.VALUE, result, value: '' }), false, `VALUE result ${result}`);
          }
        });

        it('a compare with range_end must hold for every key in the range', async () => {
          const p = t.prefix('compare-range');
          await t.client.put({ key: p + 'a', value: 'v' });
          await t.client.put({ key: p + 'a', value: 'v' });
          await t.client.put({ key: p + 'b', value: 'v' });
          const outcome = async (key: string, result: number, version: number): Promise<boolean> =>
            (await t.client.txn({
              compare: [{ key, range_end: prefixEnd(p), target: CompareTarget.VERSION, result, version }],
            })).succeeded;
          // versions in range: a=2, b=1
          assert.equal(await outcome(p, CompareResult.EQUAL, 1), false);
          assert.equal(await outcome(p, CompareResult.GREATER, 0), true);
          assert.equal(await outcome(p, CompareResult.LESS, 3), true);
          assert.equal(await outcome(p, CompareResult.NOT_EQUAL, 1), false);
          assert.equal(await outcome(p, CompareResult.NOT_EQUAL, 3), true);
          assert.equal(await outcome(p + 'b', CompareResult.EQUAL, 1), true, '[b, end) holds only b');
          // An empty range behaves like one missing key.
          assert.equal(await outcome(p + 'c', CompareResult.EQUAL, 0), true);
          assert.equal(await outcome(p + 'c', CompareResult.GREATER, 0), false);
          assert.equal(await outcome(p + 'c', CompareResult.NOT_EQUAL, 0), false);
        });

        it('all compares must hold (AND)', async () => {
          const key = t.prefix('compare-and') + 'k';
          await t.client.put({ key, value: 'v' });
          const holds = { key, target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 1 };
          const fails = { key, target: CompareTarget.VALUE, result: CompareResult.EQUAL, value: 'x' };
          assert.equal((await t.client.txn({ compare: [holds, holds] })).succeeded, true);
          assert.equal((await t.client.txn({ compare: [holds, fails] })).succeeded, false);
        });
      });

      it('runs the success branch when compares hold and the failure branch otherwise', async () => {
        const p = t.prefix('branches');
        await t.client.put({ key: p + 'k', value: 'v' });
        const request = (value: string): TxnRequest => ({
          compare: [{ key: p + 'k', target: CompareTarget.VALUE, result: CompareResult.EQUAL, value }],
          success: [op.put(p + 'ok', 'yes'), op.get(p + 'k')],
          failure: [op.put(p + 'failed', 'yes')],
        });
        const hit = await t.client.txn(request('v'));
        assert.equal(hit.succeeded, true);
        assert.deepEqual(hit.responses.map((r) => r.response), ['response_put', 'response_range']);
        const miss = await t.client.txn(request('other'));
        assert.equal(miss.succeeded, false);
        assert.deepEqual(miss.responses.map((r) => r.response), ['response_put']);
        assert.equal((await t.client.range({ key: p + 'ok' })).count, '1');
        assert.equal((await t.client.range({ key: p + 'failed' })).count, '1');
      });

      it('checks a put (ignore_value on a missing key) only on the branch that runs', async () => {
        const p = t.prefix('branch-checks');
        const never = [{ key: p + 'k', target: CompareTarget.VERSION, result: CompareResult.GREATER, version: 5 }];
        const res = await t.client.txn({ compare: never, success: [op.put(p + 'missing', '', { ignore_value: true })] });
        assert.equal(res.succeeded, false);
        assert.deepEqual(await callError(t.client.txn({ success: [op.put(p + 'missing', '', { ignore_value: true })] })), {
          code: status.INVALID_ARGUMENT,
          details: 'etcdserver: key not found',
        });
      });

      it('rejects a whole txn when one put names an unknown lease; nothing is written', async () => {
        const p = t.prefix('all-or-nothing');
        const r0 = await t.client.revision();
        assert.deepEqual(
          await callError(t.client.txn({ success: [op.put(p + 'a'), op.put(p + 'b', 'v', { lease: '998877665544' })] })),
          { code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' },
        );
        assert.equal((await t.client.range({ key: p + 'a' })).count, '0');
        assert.equal(await t.client.revision(), r0);
      });

      it('nested txns: compares see the state before the txn, operations see earlier writes', async () => {
        const p = t.prefix('nested');
        const r0 = await t.client.revision();
        const res = await t.client.txn({
          success: [
            op.put(p + 'a', '1'),
            {
              request_txn: {
                // Every compare of every nesting level is evaluated before any operation runs,
                // so this does not see the put just above.
                compare: [{ key: p + 'a', target: CompareTarget.VALUE, result: CompareResult.EQUAL, value: '1' }],
                success: [op.put(p + 'b', '2')],
                failure: [op.put(p + 'c', '3'), op.get(p + 'a')],
              },
            },
            op.get(p, { range_end: prefixEnd(p) }),
          ],
        });
        assert.equal(res.succeeded, true);
        assert.equal(rev(res.header), r0 + 1);
        const nested = res.responses[1].response_txn;
        assert.ok(nested);
        assert.equal(nested.succeeded, false);
        assert.deepEqual(nested.responses.map((r) => r.response), ['response_put', 'response_range']);
        assert.deepEqual(nested.responses[1].response_range?.kvs.map((kv) => kv.value.toString()), ['1']);
        const all = res.responses[2].response_range;
        assert.deepEqual(all?.kvs.map(kvView), [
          { key: p + 'a', value: '1', create_revision: r0 + 1, mod_revision: r0 + 1, version: 1, lease: '0' },
          { key: p + 'c', value: '3', create_revision: r0 + 1, mod_revision: r0 + 1, version: 1, lease: '0' },
        ]);
      });

      describe('duplicate keys', () => {
        const cases: [string, (p: string) => RequestOp[], boolean][] = [
          // [name, the txn's success ops, rejected?]
          ['put + put on one key', (p) => [op.put(p + 'k'), op.put(p + 'k')], true],
          ['put + delete of that key', (p) => [op.put(p + 'k'), op.del(p + 'k')], true],
          ['delete + put', (p) => [op.del(p + 'k'), op.put(p + 'k')], true],
          ['put + delete of a range covering it', (p) => [op.put(p + 'k'), op.del(p, { range_end: prefixEnd(p) })], true],
          ['delete + delete of one key', (p) => [op.del(p + 'k'), op.del(p + 'k')], false],
          ['overlapping delete ranges', (p) => [op.del(p + 'a', { range_end: p + 'm' }), op.del(p + 'c', { range_end: p + 'z' })], false],
          ['put + range of that key', (p) => [op.put(p + 'k'), op.get(p + 'k')], false],
          ['put, and put in a nested txn', (p) => [op.put(p + 'k'), { request_txn: { success: [op.put(p + 'k')] } }], true],
          [
            'put, and put in the other branch of a nested txn',
            (p) => [op.put(p + 'k'), { request_txn: { compare: [{ key: p + 'k', version: 99 }], failure: [op.put(p + 'k')] } }],
            true,
          ],
          ['put, and delete in a nested txn', (p) => [op.put(p + 'k'), { request_txn: { success: [op.del(p + 'k')] } }], true],
          ['range delete, and put in a nested txn', (p) => [op.del(p, { range_end: prefixEnd(p) }), { request_txn: { success: [op.put(p + 'k')] } }], true],
          ['delete, and delete in a nested txn', (p) => [op.del(p + 'k'), { request_txn: { success: [op.del(p + 'k')] } }], false],
          ['put in two nested txns', (p) => [{ request_txn: { success: [op.put(p + 'k')] } }, { request_txn: { success: [op.put(p + 'k')] } }], true],
          ['put in both branches of one nested txn', (p) => [{ request_txn: { success: [op.put(p + 'k')], failure: [op.put(p + 'k')] } }], false],
        ];
        for (const [name, success, rejected] of cases) {
          it(`${name}: ${rejected ? 'rejected' : 'allowed'}`, async () => {
            const p = t.prefix('dup');
            const request: TxnRequest = { success: success(p) };
            if (rejected) assert.deepEqual(await callError(t.client.txn(request)), DUPLICATE);
            else assert.equal((await t.client.txn(request)).succeeded, true);
          });
        }

        it('the same key in the success and the failure branch: allowed', async () => {
          const p = t.prefix('dup');
          const res = await t.client.txn({ success: [op.put(p + 'k', 's')], failure: [op.put(p + 'k', 'f')] });
          assert.equal(res.succeeded, true);
          assert.equal((await t.client.range({ key: p + 'k' })).kvs[0].value.toString(), 's');
        });
      });

      describe('operation limit (128)', () => {
        const puts = (p: string, n: number): RequestOp[] => Array.from({ length: n }, (_, i) => op.put(`${p}${i}`));
        const compares = (p: string, n: number): Compare[] =>
          Array.from({ length: n }, () => ({ key: p + 'x', target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 0 }));

        it('128 operations per branch and 128 compares are accepted', async () => {
          const p = t.prefix('ops-128');
          const r0 = await t.client.revision();
          const res = await t.client.txn({ compare: compares(p, 128), success: puts(p, 128), failure: puts(p, 128) });
          assert.equal(res.succeeded, true);
          assert.equal(res.responses.length, 128);
          assert.equal(await t.client.revision(), r0 + 1);
        });

        it('129 compares, success ops or failure ops are rejected', async () => {
          const p = t.prefix('ops-129');
          const r0 = await t.client.revision();
          assert.deepEqual(await callError(t.client.txn({ success: puts(p, 129) })), TOO_MANY);
          assert.deepEqual(await callError(t.client.txn({ failure: puts(p, 129) })), TOO_MANY);
          assert.deepEqual(await callError(t.client.txn({ compare: compares(p, 129) })), TOO_MANY);
          assert.equal(await t.client.revision(), r0);
        });

        it('a nested txn gets what its parent leaves: 128 minus the largest parent list', async () => {
          const p = t.prefix('ops-nested');
          const nested = (n: number, tag: string): RequestOp => ({ request_txn: { success: puts(`${p}${tag}-`, n) } });
          // 63 puts + 1 nested txn = 64 at the top, so the nested txn may hold 64.
          const ok = await t.client.txn({ success: [...puts(p + 'a-', 63), nested(64, 'b')] });
          assert.equal(ok.succeeded, true);
          assert.deepEqual(
            await callError(t.client.txn({ success: [...puts(p + 'c-', 63), nested(65, 'd')] })),
            TOO_MANY,
          );
          // The parent's largest list counts even when it is the compare list or the other branch.
          const ok2 = await t.client.txn({ compare: compares(p, 100), success: [nested(28, 'e')] });
          assert.equal(ok2.succeeded, true);
          assert.deepEqual(await callError(t.client.txn({ compare: compares(p, 100), failure: [nested(29, 'f')] })), TOO_MANY);
        });
      });
    });
  }
});
