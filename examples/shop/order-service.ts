// order-service (two instances): CreateOrder checks the user (user-service) and reserves stock
// (inventory-service), both reached through the registry as etcd:/// targets with coord's
// balancer, retries and deadline propagation. Limits come from the config center, validated by a
// zod schema and hot-reloaded. Reserved orders that are not paid in time are expired by a job that
// runs only on the instance elected leader.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { compare, op } from 'etcd-coord';
import { client as grpcClient, methodPolicies, type MethodPolicy, type ServiceClientConstructor } from 'etcd-coord/grpc';
import type { CreateOrderRequest__Output } from './generated/shop/v1/CreateOrderRequest.js';
import type { GetOrderRequest__Output } from './generated/shop/v1/GetOrderRequest.js';
import type { InventoryServiceClient } from './generated/shop/v1/InventoryService.js';
import type { PayOrderRequest__Output } from './generated/shop/v1/PayOrderRequest.js';
import { call, grpcError, shop, type Item, type Order, type Reservation } from './lib/proto.ts';
import { runService, unary, type ServiceContext } from './lib/service.ts';

const LimitsSchema = z.object({
  maxItemsPerOrder: z.number().int().min(1),
  /** How long an unpaid order holds its stock. */
  reservationSeconds: z.number().int().min(5),
});
type Limits = z.infer<typeof LimitsSchema>;
const DEFAULT_LIMITS: Limits = { maxItemsPerOrder: 10, reservationSeconds: 120 };

/**
 * A client for `etcd:///<service>`: p2c_ewma balancing and retries of UNAVAILABLE and ABORTED
 * (every shop method is idempotent: Reserve and Release per order id). The retry budget is roomier
 * than the default: an instance killed mid-traffic fails every call it had in flight at once, and
 * each of those deserves its retry on the surviving instance.
 */
function client<C extends grpc.Client>(ctx: ServiceContext, Service: ServiceClientConstructor<C>, target: string): C {
  const policy = { timeoutMs: 15_000, retry: { maxAttempts: 4, retryableStatusCodes: ['UNAVAILABLE', 'ABORTED'] } } satisfies MethodPolicy;
  return grpcClient(Service, `etcd:///${target}`, {
    interceptors: ctx.clientInterceptors(`etcd:///${target}`),
    serviceConfig: methodPolicies({ [serviceName(Service)]: policy }, { retryBudget: { maxTokens: 100, tokenRatio: 0.5 } }),
  });
}

/** `shop.v1.OrderService`, from a method path `/shop.v1.OrderService/GetOrder` (proto-loader's generated types do not declare `serviceName`). */
function serviceName(Service: ServiceClientConstructor): string {
  return Object.values(Service.service)[0]!.path.split('/')[1]!;
}

type StoredOrder = Omit<Order, 'served_by'>;

await runService({
  name: 'order-service',
  services: (ctx) => {
    const { coord, data, id } = ctx;
    const users = client(ctx, shop().UserService, 'user-service');
    const inventory = client(ctx, shop().InventoryService, 'inventory-service');
    let limits = DEFAULT_LIMITS;
    const limitsConfig = coord.config.typed('shop', 'order-limits', LimitsSchema);
    // Share the schema, so the dashboard's editor and `coord config publish` are checked against it;
    // the first instance up publishes the defaults, so they show up (and can be edited) in the dashboard.
    void limitsConfig.shareSchema().catch((e: Error) => ctx.log(`limits: could not share the schema: ${e.message}`));
    void limitsConfig.publish(DEFAULT_LIMITS, { expectedVersion: 0, author: id, message: 'defaults' }).catch(() => {});
    limitsConfig.subscribe((v) => {
      limits = v?.value ?? DEFAULT_LIMITS;
      ctx.log(`limits: ${JSON.stringify(limits)}${v ? ` (config v${v.version})` : ' (defaults)'}`);
    });
    const orderKey = (orderId: string) => `${data}orders/${orderId}`;
    const reply = (o: StoredOrder): Order => ({ ...o, served_by: id });

    return [
      [
        shop().OrderService,
        {
          CreateOrder: unary(async ({ user_id, items }: CreateOrderRequest__Output) => {
            const count = items.reduce((n, i) => n + (i.quantity || 0), 0);
            if (count > limits.maxItemsPerOrder) {
              throw grpcError(grpc.status.FAILED_PRECONDITION, `at most ${limits.maxItemsPerOrder} items per order (config shop/order-limits), got ${count}`);
            }
            await call(users, 'GetUser', { id: user_id });
            const orderId = `o-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
            await reserve(ctx, inventory, orderId, items);
            const now = Date.now();
            const order: StoredOrder = {
              id: orderId,
              user_id,
              items,
              status: 'RESERVED',
              created_at: new Date(now).toISOString(),
              expires_at: new Date(now + limits.reservationSeconds * 1000).toISOString(),
            };
            await coord.etcd.txn({ success: [op.put(orderKey(orderId), JSON.stringify(order)), op.put(expiryKey(data, order), orderId)] });
            return reply(order);
          }),
          GetOrder: unary(async ({ id: orderId }: GetOrderRequest__Output): Promise<Order> => {
            const kv = await coord.etcd.get(orderKey(orderId));
            if (!kv) throw grpcError(grpc.status.NOT_FOUND, `no order ${JSON.stringify(orderId)}`);
            return reply(JSON.parse(kv.value.toString()));
          }),
          PayOrder: unary(async ({ id: orderId }: PayOrderRequest__Output) => {
            for (;;) {
              const kv = await coord.etcd.get(orderKey(orderId));
              if (!kv) throw grpcError(grpc.status.NOT_FOUND, `no order ${JSON.stringify(orderId)}`);
              const order: StoredOrder = JSON.parse(kv.value.toString());
              if (order.status === 'PAID') return reply(order);
              if (order.status === 'EXPIRED') throw grpcError(grpc.status.FAILED_PRECONDITION, `order ${orderId} expired at ${order.expires_at}; its stock was released`);
              const paid = { ...order, status: 'PAID' as const };
              const r = await coord.etcd.txn({
                compare: [compare.modRevision(kv.key.toString(), '=', kv.modRevision)],
                success: [op.put(kv.key.toString(), JSON.stringify(paid)), op.delete(expiryKey(data, order))],
              });
              if (r.succeeded) return reply(paid);
            }
          }),
        },
      ],
    ];
  },
  background: (ctx) => runExpiryWhileLeader(ctx),
});

/**
 * Reserve, tried again on UNAVAILABLE. grpc-js already retries (see client()), but only while it
 * knows the call can be repeated; an instance killed mid-call can leave a call that it will not
 * retry. Reserve is idempotent per order id, so repeating it is always safe.
 */
async function reserve(ctx: ServiceContext, inventory: InventoryServiceClient, orderId: string, items: Item[]): Promise<Reservation> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(inventory, 'Reserve', { order_id: orderId, items });
    } catch (e) {
      const err = e as grpc.ServiceError;
      if (err.code !== grpc.status.UNAVAILABLE || attempt === 3) throw err;
      ctx.log(`order ${orderId}: Reserve failed (${err.details}); trying again`);
      await sleep(250 * attempt);
    }
  }
}

/** Index of reserved orders by expiry time: `<data>order-expiry/<ms, 15 digits>-<order id>`. */
function expiryKey(data: string, order: StoredOrder): string {
  return `${data}order-expiry/${String(Date.parse(order.expires_at)).padStart(15, '0')}-${order.id}`;
}

/** Campaigns for `shop-order-expiry`; while leader, expires due orders every second. Resigns when the service shuts down. */
async function runExpiryWhileLeader(ctx: ServiceContext): Promise<void> {
  const inventory = client(ctx, shop().InventoryService, 'inventory-service');
  while (!ctx.draining.aborted) {
    let leadership;
    try {
      leadership = await ctx.coord.campaign('shop-order-expiry', ctx.id, { ttl: 5, signal: ctx.draining });
    } catch (e) {
      if (ctx.draining.aborted) break;
      ctx.log(`campaign failed (${(e as Error).message}); retrying`);
      await sleep(1000);
      continue;
    }
    ctx.log('elected leader of shop-order-expiry: running the order-expiry job');
    const stop = AbortSignal.any([leadership.signal, ctx.draining]);
    while (!stop.aborted) {
      await expireDueOrders(ctx, inventory).catch((e) => ctx.log(`order expiry: ${(e as Error).message}`));
      await sleep(1000, undefined, { signal: stop }).catch(() => {});
    }
    if (ctx.draining.aborted) {
      await leadership.resign().catch(() => {});
      ctx.log('resigned leadership of shop-order-expiry');
    } else {
      ctx.log('lost leadership of shop-order-expiry');
    }
  }
  inventory.close();
}

async function expireDueOrders(ctx: ServiceContext, inventory: InventoryServiceClient): Promise<void> {
  const from = `${ctx.data}order-expiry/`;
  const due = await ctx.coord.etcd.range(from, { end: `${from}${String(Date.now()).padStart(15, '0')}`, limit: 100 });
  for (const index of due.kvs) {
    const orderId = index.value.toString();
    const kv = await ctx.coord.etcd.get(`${ctx.data}orders/${orderId}`);
    let order: StoredOrder | undefined = kv && JSON.parse(kv.value.toString());
    if (order?.status === 'RESERVED') {
      // Expired first, released second: a PayOrder racing with this either wins the txn (the order
      // stays paid and keeps its stock) or finds the order expired.
      const expired: StoredOrder = { ...order, status: 'EXPIRED' };
      const r = await ctx.coord.etcd.txn({ compare: [compare.modRevision(kv!.key.toString(), '=', kv!.modRevision)], success: [op.put(kv!.key.toString(), JSON.stringify(expired))] });
      if (!r.succeeded) continue; // changed meanwhile: looked at again on the next pass
      order = expired;
    }
    if (order?.status === 'EXPIRED') {
      await call(inventory, 'Release', { order_id: orderId }); // idempotent: retried on the next pass if this fails
      ctx.log(`expired order ${orderId}: stock released`);
    }
    await ctx.coord.etcd.delete(index.key.toString());
  }
}
