// inventory-service (two instances): stock per SKU, guarded by a coord lock per SKU whose fencing
// token the storage checks on every write (lib/stock.ts), so concurrent orders on either instance
// never oversell.
import * as grpc from '@grpc/grpc-js';
import type { GetStockRequest__Output } from './generated/shop/v1/GetStockRequest.js';
import type { ReleaseRequest__Output } from './generated/shop/v1/ReleaseRequest.js';
import type { ReserveRequest__Output } from './generated/shop/v1/ReserveRequest.js';
import { grpcError, shop, type Item, type Reservation } from './lib/proto.ts';
import { callSignal, runService, unary } from './lib/service.ts';
import { StockStore } from './lib/stock.ts';

/** Stock created on first start; `limited` runs out quickly (try ordering 4 of it twice). */
const INITIAL_STOCK = { book: 100_000, mug: 100_000, pen: 100_000, limited: 5 };

await runService({
  name: 'inventory-service',
  services: ({ coord, data, id }) => {
    const stock = new StockStore(coord, data);
    const seeded = stock.seed(INITIAL_STOCK);
    const reply = (orderId: string, r: { items: Item[]; released: boolean }): Reservation => ({ order_id: orderId, ...r, served_by: id });
    return [
      [
        shop().InventoryService,
        {
          GetStock: unary(async ({ sku }: GetStockRequest__Output, call) => {
            await seeded;
            const s = await stock.get(sku, callSignal(call));
            if (!s) throw grpcError(grpc.status.NOT_FOUND, `unknown sku ${JSON.stringify(sku)} (try ${Object.keys(INITIAL_STOCK).join(', ')})`);
            return { sku, available: s.available, fencing_token: String(s.fencingToken), served_by: id };
          }),
          Reserve: unary(async ({ order_id, items }: ReserveRequest__Output, call) => {
            if (!order_id) throw grpcError(grpc.status.INVALID_ARGUMENT, 'order_id is required');
            await seeded;
            return reply(order_id, await stock.reserve(order_id, items, callSignal(call)));
          }),
          Release: unary(async ({ order_id }: ReleaseRequest__Output, call) => {
            const r = await stock.release(order_id, callSignal(call));
            if (!r) throw grpcError(grpc.status.NOT_FOUND, `order ${JSON.stringify(order_id)} reserved nothing`);
            return reply(order_id, r);
          }),
        },
      ],
    ];
  },
});
