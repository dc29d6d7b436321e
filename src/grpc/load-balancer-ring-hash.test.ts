import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRing, hash32, ringIndex, type Ring } from './load-balancer-ring-hash.ts';

const owner = (ring: Ring, key: string) => ring.owners[ringIndex(ring, hash32(key))];
const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
const ep = (key: string, weight = 1) => ({ key, id: `id-${key}`, weight });

function shares(ring: Ring): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(owner(ring, k), (m.get(owner(ring, k)) ?? 0) + 1 / keys.length);
  return m;
}

describe('ring_hash ring', () => {
  it('hashes deterministically, strings and bytes alike', () => {
    assert.equal(hash32('user-1'), hash32('user-1'));
    assert.notEqual(hash32('user-1'), hash32('user-2'));
    assert.equal(hash32(Buffer.from('abc')), hash32('abc'));
  });

  it('spreads keys about evenly over equal endpoints', () => {
    const s = shares(buildRing([ep('a'), ep('b'), ep('c'), ep('d')], 100, 16384));
    for (const [k, v] of s) assert.ok(v > 0.17 && v < 0.33, `${k}: ${v}`);
  });

  it('gives keys in proportion to weight', () => {
    const s = shares(buildRing([ep('a', 1), ep('b', 3)], 100, 16384));
    assert.ok(s.get('b')! > 0.68 && s.get('b')! < 0.82, `${s.get('b')}`);
  });

  it('moves only the new endpoint\'s keys when one joins, and only the leaver\'s when one leaves', () => {
    const before = buildRing([ep('a'), ep('b'), ep('c')], 100, 16384);
    const joined = buildRing([ep('a'), ep('b'), ep('c'), ep('d')], 100, 16384);
    let moved = 0;
    for (const k of keys) {
      if (owner(before, k) !== owner(joined, k)) {
        moved++;
        assert.equal(owner(joined, k), 'd');
      }
    }
    assert.ok(moved / keys.length > 0.15 && moved / keys.length < 0.35, `${moved / keys.length}`);
    const left = buildRing([ep('a'), ep('c')], 100, 16384);
    for (const k of keys) if (owner(before, k) !== 'b') assert.equal(owner(left, k), owner(before, k));
  });

  it('places points by instance id, not address: a restart on a new port keeps its keys', () => {
    const r1 = buildRing([{ key: '10.0.0.1:5000', id: 'orders-1', weight: 1 }, { key: '10.0.0.2:5000', id: 'orders-2', weight: 1 }], 100, 16384);
    const r2 = buildRing([{ key: '10.0.0.1:6000', id: 'orders-1', weight: 1 }, { key: '10.0.0.2:5000', id: 'orders-2', weight: 1 }], 100, 16384);
    for (const k of keys.slice(0, 2000)) assert.equal(owner(r1, k).replace(':5000', ''), owner(r2, k).replace(/:[56]000/, ''));
  });

  it('scales weights down to fit maxRingSize', () => {
    const r = buildRing([ep('a', 1), ep('b', 1000)], 100, 5000);
    assert.ok(r.hashes.length <= 5001 && r.owners.includes('a'));
  });
});
