// order-service (two instances): CreateOrder checks the user (user-service, gRPC) and the items
// (the catalog), then writes the order (status pending) and OrderCreated in one transaction and
// answers at once. The rest of the flow is events: it consumes `inventory` (StockReserved → charge
// through payment-service's Pay; StockRejected → cancel; StockShortfall → refund and cancel) and
// `payments` (a charge for a cancelled order is refunded; a refund of a paid order cancels it), and
// the instance elected leader of `shop-order-reconciler` drives again every order past its
// deadline and compensates the ones whose step keeps failing (lib/order-flow.ts). Limits come from
// the config center, validated by a zod schema and hot-reloaded.
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { idempotent, type Delivery } from 'etcd-coord/events';
import { client as grpcClient, methodPolicies, type MethodPolicy, type ServiceClientConstructor } from 'etcd-coord/grpc';
import type { CreateOrderRequest__Output } from './generated/shop/v1/CreateOrderRequest.js';
import type { GetOrderRequest__Output } from './generated/shop/v1/GetOrderRequest.js';
import { CATALOG, SKUS } from './lib/catalog.ts';
import { MAX_ATTEMPTS, PaymentEventSchema, payload, StockEventSchema, TOPICS } from './lib/flow.ts';
import { runWhileLeader } from './lib/leader.ts';
import { OrderFlow } from './lib/order-flow.ts';
import { ORDER_TABLES, OrderStore, type OrderRow } from './lib/orders.ts';
import { call, grpcError, shop, type Order } from './lib/proto.ts';
import { runService, unary, type ServiceContext } from './lib/service.ts';

const LimitsSchema = z.object({
  maxItemsPerOrder: z.number().int().min(1),
  /** How long an order may take to become paid or cancelled before the reconciler drives it again, s. */
  orderSeconds: z.number().int().min(1).default(15),
  /** How long one Pay call may take, ms. */
  paymentTimeoutMs: z.number().int().min(100).default(2000),
  /** Reconciliation rounds for one step before its compensation runs. */
  reconcileAttempts: z.number().int().min(0).default(3),
  /** Between two reconciliation rounds of one order, s. */
  retrySeconds: z.number().int().min(1).default(2),
});
type Limits = z.infer<typeof LimitsSchema>;
const DEFAULT_LIMITS: Limits = { maxItemsPerOrder: 10, orderSeconds: 15, paymentTimeoutMs: 2000, reconcileAttempts: 3, retrySeconds: 2 };

/**
 * A client for `etcd:///<service>`: p2c_ewma balancing and retries of UNAVAILABLE (every method
 * the order service calls is idempotent: Pay and Refund per order id).
 */
function client<C extends grpc.Client>(ctx: ServiceContext, Service: ServiceClientConstructor<C>, target: string): C {
  const policy = { timeoutMs: 15_000, retry: { maxAttempts: 4, retryableStatusCodes: ['UNAVAILABLE'] } } satisfies MethodPolicy;
  return grpcClient(Service, `etcd:///${target}`, {
    interceptors: ctx.clientInterceptors(`etcd:///${target}`),
    serviceConfig: methodPolicies({ [serviceName(Service)]: policy }, { retryBudget: { maxTokens: 100, tokenRatio: 0.5 } }),
  });
}

/** `shop.v1.OrderService`, from a method path `/shop.v1.OrderService/GetOrder` (proto-loader's generated types do not declare `serviceName`). */
function serviceName(Service: ServiceClientConstructor): string {
  return Object.values(Service.service)[0]!.path.split('/')[1]!;
}

let limits = DEFAULT_LIMITS;
let flow: OrderFlow;
let orders: OrderStore;

await runService({
  name: 'order-service',
  database: { schema: 'orders', statements: ORDER_TABLES },
  outbox: 'orders',
  services: (ctx) => {
    const { coord, id } = ctx;
    const users = client(ctx, shop().UserService, 'user-service');
    orders = new OrderStore(ctx.db, ctx.outbox);
    flow = new OrderFlow(orders, client(ctx, shop().PaymentService, 'payment-service'), () => limits, ctx.log);
    const limitsConfig = coord.config.typed('shop', 'order-limits', LimitsSchema);
    // Share the schema, so the dashboard's editor and `coord config publish` are checked against it;
    // the first instance up publishes the defaults, so they show up (and can be edited) in the dashboard.
    void limitsConfig.shareSchema().catch((e: Error) => ctx.log(`limits: could not share the schema: ${e.message}`));
    void limitsConfig.publish(DEFAULT_LIMITS, { expectedVersion: 0, author: id, message: 'defaults' }).catch(() => {}); // another instance published first: nothing to do
    limitsConfig.subscribe((v) => {
      limits = v?.value ?? DEFAULT_LIMITS;
      ctx.log(`limits: ${JSON.stringify(limits)}${v ? ` (config v${v.version})` : ' (defaults)'}`);
    });
    const reply = (o: OrderRow): Order => ({
      id: o.id,
      user_id: o.user_id,
      items: o.items,
      status: o.status,
      created_at: new Date(o.created_at).toISOString(),
      deadline: new Date(o.deadline).toISOString(),
      amount_cents: o.amount_cents,
      reason: o.reason,
      served_by: id,
    });

    return [
      [
        shop().OrderService,
        {
          CreateOrder: unary(async ({ user_id, items }: CreateOrderRequest__Output) => {
            if (!items.length) throw grpcError(grpc.status.INVALID_ARGUMENT, 'an order needs at least one item');
            for (const { sku, quantity } of items) {
              if (!CATALOG[sku]) throw grpcError(grpc.status.INVALID_ARGUMENT, `unknown sku ${JSON.stringify(sku)} (try ${SKUS.join(', ')})`);
              if (!(quantity > 0)) throw grpcError(grpc.status.INVALID_ARGUMENT, `quantity of ${sku} must be > 0, got ${quantity}`);
            }
            const count = items.reduce((n, i) => n + i.quantity, 0);
            if (count > limits.maxItemsPerOrder) {
              throw grpcError(grpc.status.FAILED_PRECONDITION, `at most ${limits.maxItemsPerOrder} items per order (config shop/order-limits), got ${count}`);
            }
            await call(users, 'GetUser', { id: user_id });
            const order = await orders.create({
              id: `o-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
              userId: user_id,
              items: items.map(({ sku, quantity }) => ({ sku, quantity })),
              amountCents: items.reduce((n, i) => n + CATALOG[i.sku]!.priceCents * i.quantity, 0),
              deadlineSeconds: limits.orderSeconds,
            });
            return reply(order);
          }),
          GetOrder: unary(async ({ id: orderId }: GetOrderRequest__Output): Promise<Order> => {
            const o = await orders.get(orderId);
            if (!o) throw grpcError(grpc.status.NOT_FOUND, `no order ${JSON.stringify(orderId)}`);
            return reply(o);
          }),
        },
      ],
    ];
  },
  background: async (ctx) => {
    const charging = new Set<Promise<unknown>>();
    /** Charges in the background, so a slow payment does not hold up the consumer group; the reconciler takes over whatever this instance does not finish. */
    const charge = (orderId: string) => {
      const p = flow.charge(orderId).catch((e: Error) => ctx.log(`order ${orderId}: charging failed (${e.message}); the reconciler tries again`));
      charging.add(p);
      void p.finally(() => charging.delete(p));
    };
    ctx.subscribe(TOPICS.inventory, 'order', (event, signal) => onStockEvent(ctx, event, signal, charge), { maxAttempts: MAX_ATTEMPTS });
    ctx.subscribe(TOPICS.payments, 'order', (event, signal) => onPaymentEvent(ctx, event, signal), { maxAttempts: MAX_ATTEMPTS });
    await runWhileLeader(ctx, 'shop-order-reconciler', 1000, async (signal) => {
      for (const order of await orders.due(50)) {
        if (signal.aborted) return;
        await flow.reconcile(order).catch((e: Error) => ctx.log(`reconciler: order ${order.id}: ${e.message}; tried again next round`));
      }
    });
    await Promise.all(charging);
  },
});

/** An order an event names: a missing one is an error (the delivery fails, then becomes a dead letter). */
async function known(orderId: string, event: Delivery): Promise<OrderRow> {
  const o = await orders.get(orderId);
  if (!o) throw new Error(`${event.type} ${event.id} names order ${JSON.stringify(orderId)}, which does not exist`);
  return o;
}

async function onStockEvent(ctx: ServiceContext, event: Delivery, signal: AbortSignal, charge: (orderId: string) => void): Promise<void> {
  if (!['StockReserved', 'StockRejected', 'StockShortfall'].includes(event.type)) return;
  const { orderId, reason } = payload(StockEventSchema, event);
  await known(orderId, event);
  let reserved = false;
  await idempotent(ctx.db, 'order-stock', async (_e, tx) => {
    if (event.type === 'StockReserved') reserved = !!(await orders.move(orderId, ['pending'], 'reserved', { tx })) || (await orders.get(orderId, tx))?.status === 'reserved';
    else if (event.type === 'StockRejected') await orders.move(orderId, ['pending'], 'cancelled', { tx, event: 'OrderCancelled', reason: `stock rejected: ${reason ?? 'no reason given'}` });
    // Paid, but inventory cannot fulfil it: refund, then cancel (the reconciler runs the compensation now: the deadline is past).
    else if (await orders.move(orderId, ['paid'], 'refunding', { tx, reason: `cannot be fulfilled: ${reason ?? 'no stock reserved'}` })) {
      await tx.query(`UPDATE orders.orders SET deadline = now() WHERE id = $1`, [orderId]);
    }
  })(event, signal);
  if (reserved) charge(orderId);
}

async function onPaymentEvent(ctx: ServiceContext, event: Delivery, signal: AbortSignal): Promise<void> {
  if (!['PaymentCharged', 'PaymentRefunded'].includes(event.type)) return;
  const { orderId } = payload(PaymentEventSchema, event);
  const order = await known(orderId, event);
  if (event.type === 'PaymentCharged' && order.status === 'cancelled') {
    // A charge for an order that will never ship (paid through the gateway after it was cancelled): give it back.
    const p = await flow.refund(orderId);
    ctx.log(`order ${orderId}: charged after it was cancelled; payment ${p.status}`);
  } else if (event.type === 'PaymentRefunded') {
    // Refunded from outside the flow (POST /v1/payments/{id}/refund): a paid order is cancelled and its sold stock returns.
    await idempotent(ctx.db, 'order-payments', async (_e, tx) => {
      await orders.move(orderId, ['paid'], 'cancelled', { tx, event: 'OrderCancelled', reason: 'refunded' });
    })(event, signal);
  }
}
