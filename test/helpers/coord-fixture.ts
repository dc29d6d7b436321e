// A coord client per test on a conformance backend, each in its own namespace.
import { connect, type Coord } from '../../src/index.ts';
import type { Fixture } from './conformance.ts';

export function coordOn(f: Fixture, name: string, clients: Coord[]): { ns: string; make: () => Coord } {
  const ns = `/${f.prefix(name)}`;
  return {
    ns,
    make() {
      const c = connect({ endpoints: [f.endpoint], namespace: ns });
      clients.push(c);
      return c;
    },
  };
}

/** Polls `check` until it returns truthy or `ms` passes. */
export async function until<T>(check: () => T | Promise<T>, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
