// A steady order load on the shop: CreateOrder at a fixed rate through the registry
// (`etcd:///order-service`, as the gateway and the services call each other), whatever happens to
// the instances. An answered call is a committed order; a failed one may or may not have
// committed (the invariants read the database, not this list).
import * as grpc from '@grpc/grpc-js';
import type { Coord } from '../../../src/coord.ts';
import { client as grpcClient, setup } from '../../../src/grpc/index.ts';
import { call, shop } from '../../../examples/shop/lib/proto.ts';

export interface OrderLoad {
  /** Order ids CreateOrder answered with. */
  readonly acknowledged: Set<string>;
  /** Failed calls by gRPC status name. */
  readonly failures: Map<string, number>;
  readonly issued: number;
  /** Stops issuing; resolves once every call has settled. */
  stop(): Promise<void>;
}

const SKUS = ['book', 'mug', 'pen', 'limited'];

export function startOrderLoad(coord: Coord, ratePerSec: number, random: () => number): OrderLoad {
  setup({ coord });
  const orders = grpcClient(shop().OrderService, 'etcd:///order-service');
  const acknowledged = new Set<string>();
  const failures = new Map<string, number>();
  let pending = 0;
  let issued = 0;
  let drained: (() => void) | undefined;
  const pick = () => SKUS[Math.floor(random() * (random() < 0.1 ? SKUS.length : SKUS.length - 1))];
  const one = async () => {
    const items = Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({ sku: pick(), quantity: 1 + Math.floor(random() * 2) }));
    const merged = [...new Map(items.map((i) => [i.sku, i])).values()];
    try {
      const order = await call(orders, 'CreateOrder', { user_id: `u${1 + Math.floor(random() * 3)}`, items: merged }, { deadline: Date.now() + 10_000 });
      acknowledged.add(order.id);
    } catch (e) {
      const code = grpc.status[(e as grpc.ServiceError).code] ?? 'ERROR';
      failures.set(code, (failures.get(code) ?? 0) + 1);
    }
  };
  const start = performance.now();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) * ratePerSec) / 1000);
    for (; issued < due; issued++) {
      pending++;
      void one().finally(() => {
        if (--pending === 0) drained?.();
      });
    }
  }, 10);
  return {
    acknowledged,
    failures,
    get issued() {
      return issued;
    },
    async stop() {
      clearInterval(timer);
      if (pending > 0) await new Promise<void>((resolve) => (drained = resolve));
      orders.close();
    },
  };
}
