// inventory-service (two instances): stock per SKU in PostgreSQL (schema `inventory`). It consumes
// the `orders` topic as group `inventory`: OrderCreated reserves the order's items or rejects the
// order, OrderPaid turns the reservation into sold stock, OrderCancelled puts it back. Each effect
// commits in one transaction with the processed event id (idempotent()) and the answer event
// (StockReserved, StockRejected, StockReleased, StockSold, StockShortfall) in the outbox; every
// stock write holds the SKU's coord lock and is fenced by the database (lib/stock.ts).
import * as grpc from '@grpc/grpc-js';
import { idempotent, type Delivery } from 'etcd-coord/events';
import type { GetStockRequest__Output } from './generated/shop/v1/GetStockRequest.js';
import { SKUS } from './lib/catalog.ts';
import { MAX_ATTEMPTS, OrderEventSchema, payload, TOPICS, type StockEvent } from './lib/flow.ts';
import { grpcError, shop } from './lib/proto.ts';
import { runService, unary, type ServiceContext } from './lib/service.ts';
import { INVENTORY_TABLES, StockStore } from './lib/stock.ts';

await runService({
  name: 'inventory-service',
  database: { schema: 'inventory', statements: INVENTORY_TABLES },
  outbox: 'inventory',
  services: (ctx) => {
    const stock = new StockStore(ctx.coord, ctx.log);
    return [
      [
        shop().InventoryService,
        {
          GetStock: unary(async ({ sku }: GetStockRequest__Output) => {
            const s = await stock.get(ctx.db, sku);
            if (!s) throw grpcError(grpc.status.NOT_FOUND, `unknown sku ${JSON.stringify(sku)} (try ${SKUS.join(', ')})`);
            return { sku, available: s.available, reserved: s.reserved, sold: s.sold, fencing_token: String(s.fence), served_by: ctx.id };
          }),
        },
      ],
    ];
  },
  background: async (ctx) => {
    const stock = new StockStore(ctx.coord, ctx.log);
    ctx.subscribe(TOPICS.orders, 'inventory', (event, signal) => onOrderEvent(ctx, stock, event, signal), { maxAttempts: MAX_ATTEMPTS });
    await new Promise((resolve) => ctx.draining.addEventListener('abort', resolve, { once: true }));
  },
});

/** One `orders` event: the SKUs' locks first (outside any transaction), then the effect, its processed id and its answer in one transaction. */
async function onOrderEvent(ctx: ServiceContext, stock: StockStore, event: Delivery, signal: AbortSignal): Promise<void> {
  if (!['OrderCreated', 'OrderPaid', 'OrderCancelled'].includes(event.type)) return; // not for inventory
  const order = payload(OrderEventSchema, event);
  await stock.withLocks(
    order.items.map((i) => i.sku),
    signal,
    (tokens) =>
      idempotent(ctx.db, 'inventory', async (_e, tx) => {
        const answer = (type: string, data: StockEvent) => ctx.outbox.add(tx, [{ topic: TOPICS.inventory, type, key: order.orderId, data }]);
        if (event.type === 'OrderCreated') {
          const r = await stock.reserve(tx, order.orderId, order.items, tokens);
          if (r?.status === 'reserved') await answer('StockReserved', { orderId: order.orderId, items: order.items });
          else if (r?.status === 'rejected') await answer('StockRejected', { orderId: order.orderId, items: order.items, reason: r.reason });
          else {
            // Decided before (the reconciler published OrderCreated again): answer again with the decision.
            const was = await stock.reservation(tx, order.orderId);
            const again = was && ({ reserved: 'StockReserved', rejected: 'StockRejected', released: 'StockReleased' } as Record<string, string | undefined>)[was.status];
            if (again) await answer(again, { orderId: order.orderId, items: order.items, reason: 'answered again' });
          }
        } else if (event.type === 'OrderPaid') {
          if (await stock.sell(tx, order.orderId, tokens)) await answer('StockSold', { orderId: order.orderId, items: order.items });
          else await answer('StockShortfall', { orderId: order.orderId, items: order.items, reason: 'paid, but no stock is reserved for it' });
        } else {
          const released = await stock.release(tx, order.orderId, order.items, tokens);
          if (released) await answer('StockReleased', { orderId: order.orderId, items: released });
        }
      })(event, signal),
  );
}
