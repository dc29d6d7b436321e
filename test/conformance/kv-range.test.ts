// Range: single keys, the prefix / from-key / all-keys forms, limit + more + count, historical
// reads, sorting, keys_only / count_only, revision filters and serializable reads.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { backends } from '../helpers/backends.ts';
import { keys, kvView, prefixEnd, rev, useBackend } from '../helpers/conformance.ts';
import { SortOrder, SortTarget, type RawClient } from '../helpers/raw-client.ts';

/**
 * Ten puts (revisions r0+1 … r0+10) that leave four keys whose key, version, create, mod and
 * value orders all differ, so every sort target is distinguishable:
 *
 * | key | value | version | create | mod  |
 * |-----|-------|---------|--------|------|
 * | a   | k     | 3       | r0+2   | r0+7 |
 * | b   | w     | 1       | r0+5   | r0+5 |
 * | c   | e     | 4       | r0+1   | r0+10|
 * | d   | r     | 2       | r0+3   | r0+9 |
 */
async function seed(client: RawClient, p: string): Promise<number> {
  const r0 = await client.revision();
  const puts: [string, string][] = [
    ['c', 'old'], ['a', 'old'], ['d', 'old'], ['a', 'old'], ['b', 'w'],
    ['c', 'old'], ['a', 'k'], ['c', 'old'], ['d', 'r'], ['c', 'e'],
  ];
  for (const [key, value] of puts) await client.put({ key: p + key, value });
  return r0;
}

describe('kv range', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b);

      it('gets one key with its revisions and the current header revision', async () => {
        const p = t.prefix('single');
        const r0 = await seed(t.client, p);
        const res = await t.client.range({ key: p + 'a' });
        assert.equal(rev(res.header), r0 + 10);
        assert.deepEqual(res.kvs.map(kvView), [
          { key: p + 'a', value: 'k', create_revision: r0 + 2, mod_revision: r0 + 7, version: 3, lease: '0' },
        ]);
        assert.equal(res.count, '1');
        assert.equal(res.more, false);
      });

      it('returns nothing, count 0, for a missing key', async () => {
        const p = t.prefix('missing');
        const r0 = await t.client.revision();
        const res = await t.client.range({ key: p + 'nope' });
        assert.deepEqual(res.kvs, []);
        assert.equal(res.count, '0');
        assert.equal(res.more, false);
        assert.equal(rev(res.header), r0);
      });

      it('reads a prefix with range_end = prefix + 1, in key order', async () => {
        const p = t.prefix('prefix');
        await seed(t.client, p);
        const res = await t.client.range({ key: p, range_end: prefixEnd(p) });
        assert.deepEqual(keys(res.kvs), [p + 'a', p + 'b', p + 'c', p + 'd']);
        assert.equal(res.count, '4');
      });

      it('reads [key, range_end) and nothing when range_end <= key', async () => {
        const p = t.prefix('interval');
        await seed(t.client, p);
        const res = await t.client.range({ key: p + 'b', range_end: p + 'd' });
        assert.deepEqual(keys(res.kvs), [p + 'b', p + 'c']);
        assert.equal((await t.client.range({ key: p + 'c', range_end: p + 'c' })).count, '0');
        assert.equal((await t.client.range({ key: p + 'c', range_end: p + 'a' })).count, '0');
      });

      it("reads every key >= key with range_end '\\0' (from-key form)", async () => {
        // '~' sorts after the t<n>- prefixes of every other test, so the range holds only ours.
        const p = '~from-key/';
        await seed(t.client, p);
        const res = await t.client.range({ key: p + 'c', range_end: '\0' });
        assert.deepEqual(keys(res.kvs), [p + 'c', p + 'd']);
        assert.equal(res.count, '2');
      });

      it("reads all keys with key = range_end = '\\0'", async () => {
        const p = t.prefix('all');
        await seed(t.client, p);
        const res = await t.client.range({ key: '\0', range_end: '\0' });
        const all = keys(res.kvs);
        assert.ok([p + 'a', p + 'b', p + 'c', p + 'd'].every((k) => all.includes(k)));
        assert.deepEqual(all, [...all].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
        assert.equal(res.count, String(all.length));
        assert.deepEqual(keys((await t.client.range({ key: '\0' })).kvs), [], "key '\\0' alone is a single key");
      });

      it('limits results: more tells whether keys were left out, count is the whole range', async () => {
        const p = t.prefix('limit');
        await seed(t.client, p);
        const range = { key: p, range_end: prefixEnd(p) };
        const two = await t.client.range({ ...range, limit: 2 });
        assert.deepEqual(keys(two.kvs), [p + 'a', p + 'b']);
        assert.equal(two.more, true);
        assert.equal(two.count, '4');
        for (const limit of [4, 5, 0]) {
          const res = await t.client.range({ ...range, limit });
          assert.equal(res.kvs.length, 4, `limit ${limit}`);
          assert.equal(res.more, false, `limit ${limit}`);
          assert.equal(res.count, '4', `limit ${limit}`);
        }
      });

      it('reads the keyspace as of an earlier revision', async () => {
        const p = t.prefix('history');
        const r0 = await seed(t.client, p);
        const range = { key: p, range_end: prefixEnd(p) };
        const at5 = await t.client.range({ ...range, revision: r0 + 5 });
        assert.equal(rev(at5.header), r0 + 10, 'the header carries the current revision, not the one read');
        assert.deepEqual(at5.kvs.map(kvView), [
          { key: p + 'a', value: 'old', create_revision: r0 + 2, mod_revision: r0 + 4, version: 2, lease: '0' },
          { key: p + 'b', value: 'w', create_revision: r0 + 5, mod_revision: r0 + 5, version: 1, lease: '0' },
          { key: p + 'c', value: 'old', create_revision: r0 + 1, mod_revision: r0 + 1, version: 1, lease: '0' },
          { key: p + 'd', value: 'old', create_revision: r0 + 3, mod_revision: r0 + 3, version: 1, lease: '0' },
        ]);
        assert.equal((await t.client.range({ ...range, revision: r0 })).count, '0');
        const now = await t.client.range({ ...range, revision: r0 + 10 });
        assert.deepEqual(now.kvs, (await t.client.range(range)).kvs);
      });

      describe('sort', () => {
        let p = '';
        before(async () => {
          p = t.prefix('sort');
          await seed(t.client, p);
        });
        // Ascending orders per target; DESCEND is the reverse. With sort_order NONE etcd sorts
        // ascending by any target other than KEY (KEY + NONE is the natural key order anyway).
        const ascending: Record<keyof typeof SortTarget, string[]> = {
          KEY: ['a', 'b', 'c', 'd'],
          VERSION: ['b', 'd', 'a', 'c'],
          CREATE: ['c', 'a', 'd', 'b'],
          MOD: ['b', 'a', 'd', 'c'],
          VALUE: ['c', 'a', 'd', 'b'],
        };
        for (const target of Object.keys(SortTarget) as (keyof typeof SortTarget)[]) {
          for (const order of Object.keys(SortOrder) as (keyof typeof SortOrder)[]) {
            it(`sort_target ${target}, sort_order ${order}`, async () => {
              const res = await t.client.range({
                key: p,
                range_end: prefixEnd(p),
                sort_target: SortTarget[target],
                sort_order: SortOrder[order],
              });
              const expected = order === 'DESCEND' ? [...ascending[target]].reverse() : ascending[target];
              assert.deepEqual(keys(res.kvs), expected.map((k) => p + k));
            });
          }
        }

        it('sorts the whole range before applying limit', async () => {
          const range = { key: p, range_end: prefixEnd(p), limit: 2 };
          const byKey = await t.client.range({ ...range, sort_target: SortTarget.KEY, sort_order: SortOrder.DESCEND });
          assert.deepEqual(keys(byKey.kvs), [p + 'd', p + 'c']);
          assert.equal(byKey.more, true);
          assert.equal(byKey.count, '4');
          const byMod = await t.client.range({ ...range, sort_target: SortTarget.MOD, sort_order: SortOrder.DESCEND });
          assert.deepEqual(keys(byMod.kvs), [p + 'c', p + 'd']);
        });
      });

      it('keys_only returns keys and revisions with empty values', async () => {
        const p = t.prefix('keys-only');
        const r0 = await seed(t.client, p);
        const res = await t.client.range({ key: p, range_end: prefixEnd(p), keys_only: true, limit: 1 });
        assert.deepEqual(res.kvs.map(kvView), [
          { key: p + 'a', value: '', create_revision: r0 + 2, mod_revision: r0 + 7, version: 3, lease: '0' },
        ]);
        assert.equal(res.more, true);
        assert.equal(res.count, '4');
      });

      it('count_only returns only the count; more stays false even with a limit', async () => {
        const p = t.prefix('count-only');
        await seed(t.client, p);
        const res = await t.client.range({ key: p, range_end: prefixEnd(p), count_only: true, limit: 1 });
        assert.deepEqual(res.kvs, []);
        assert.equal(res.count, '4');
        assert.equal(res.more, false);
      });

      it('filters by mod/create revision; count ignores the filters', async () => {
        const p = t.prefix('filters');
        const r0 = await seed(t.client, p);
        const range = { key: p, range_end: prefixEnd(p) };
        const cases: [Record<string, number>, string[]][] = [
          [{ min_mod_revision: r0 + 9 }, ['c', 'd']],
          [{ max_mod_revision: r0 + 5 }, ['b']],
          [{ min_create_revision: r0 + 3 }, ['b', 'd']],
          [{ max_create_revision: r0 + 2 }, ['a', 'c']],
          [{ min_mod_revision: r0 + 6, max_mod_revision: r0 + 9, min_create_revision: r0 + 2 }, ['a', 'd']],
        ];
        for (const [filter, expected] of cases) {
          const res = await t.client.range({ ...range, ...filter });
          const label = JSON.stringify(filter);
          assert.deepEqual(keys(res.kvs), expected.map((k) => p + k), label);
          assert.equal(res.count, '4', `${label}: count is the unfiltered range size`);
          assert.equal(res.more, false, label);
        }
        const limited = await t.client.range({ ...range, min_mod_revision: r0 + 7, limit: 1 });
        assert.deepEqual(keys(limited.kvs), [p + 'a']);
        assert.equal(limited.more, true, 'more counts keys left out after filtering');
        assert.equal(limited.count, '4');
        const counted = await t.client.range({ ...range, min_mod_revision: r0 + 9, count_only: true });
        assert.equal(counted.count, '4', 'count_only ignores the filters too');
      });

      it('serializable reads return the same data', async () => {
        const p = t.prefix('serializable');
        await seed(t.client, p);
        const range = { key: p, range_end: prefixEnd(p) };
        const linearizable = await t.client.range(range);
        const serializable = await t.client.range({ ...range, serializable: true });
        assert.deepEqual(serializable.kvs, linearizable.kvs);
        assert.equal(serializable.header.revision, linearizable.header.revision);
      });
    });
  }
});
