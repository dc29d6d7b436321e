// notification-service (one or more instances): consumes the `orders` topic as group
// `notification` and "sends" the customer a message per order event: it keeps what it sent in its
// schema (`notifications.sent`) and publishes it to the `notifications` topic (its feed, which the
// dashboard tails), both in the transaction that records the processed event id, so each event is
// notified once however often it arrives. ListNotifications answers over gRPC (GET /v1/notifications).
import type { Delivery, SqlExecutor } from 'etcd-coord/events';
import { idempotent } from 'etcd-coord/events';
import type { ListNotificationsRequest__Output } from './generated/shop/v1/ListNotificationsRequest.js';
import type { Notification } from './generated/shop/v1/Notification.js';
import { MAX_ATTEMPTS, OrderEventSchema, payload, TOPICS, type OrderEvent } from './lib/flow.ts';
import { shop } from './lib/proto.ts';
import { runService, unary, type ServiceContext } from './lib/service.ts';

const TABLES = [
  `CREATE TABLE IF NOT EXISTS notifications.sent (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX IF NOT EXISTS sent_order ON notifications.sent (order_id)`,
  // One message per order and kind: the reconciler may publish OrderCreated again (a new event id)
  // for an order inventory has not answered, and the customer is told once.
  `CREATE UNIQUE INDEX IF NOT EXISTS sent_once ON notifications.sent (order_id, kind)`,
];

const money = (cents: number) => `$${(cents / 100).toFixed(2)}`;

/** The message for an order event. */
function text(kind: string, o: OrderEvent): string {
  const what = o.items.map((i) => `${i.quantity} × ${i.sku}`).join(', ');
  if (kind === 'OrderCreated') return `We received your order ${o.orderId} (${what}, ${money(o.amountCents)}).`;
  if (kind === 'OrderPaid') return `Your order ${o.orderId} is paid (${money(o.amountCents)}) and on its way.`;
  return `Your order ${o.orderId} was cancelled: ${o.reason ?? 'no reason given'}.`;
}

await runService({
  name: 'notification-service',
  database: { schema: 'notifications', statements: TABLES },
  outbox: 'notifications',
  services: (ctx) => [
    [
      shop().NotificationService,
      {
        ListNotifications: unary(async ({ order_id, limit }: ListNotificationsRequest__Output) => {
          const { rows } = await ctx.db.query<{ id: string; order_id: string; user_id: string; kind: string; text: string; sent_at: Date }>(
            `SELECT id, order_id, user_id, kind, text, sent_at FROM notifications.sent WHERE ($1 = '' OR order_id = $1) ORDER BY sent_at DESC, id LIMIT $2`,
            [order_id, Math.min(limit || 50, 500)],
          );
          const notifications: Notification[] = rows.map((r) => ({ ...r, sent_at: new Date(r.sent_at).toISOString() }));
          return { notifications, served_by: ctx.id };
        }),
      },
    ],
  ],
  background: async (ctx) => {
    ctx.subscribe(TOPICS.orders, 'notification', idempotent(ctx.db, 'notification', (event, tx) => notify(ctx, event, tx)), { maxAttempts: MAX_ATTEMPTS });
    await new Promise((resolve) => ctx.draining.addEventListener('abort', resolve, { once: true }));
  },
});

async function notify(ctx: ServiceContext, event: Delivery, tx: SqlExecutor): Promise<void> {
  if (!['OrderCreated', 'OrderPaid', 'OrderCancelled'].includes(event.type)) return;
  const order = payload(OrderEventSchema, event);
  const n = { id: `n-${event.id}`, order_id: order.orderId, user_id: order.userId, kind: event.type, text: text(event.type, order) };
  const { rows } = await tx.query(
    `INSERT INTO notifications.sent (id, order_id, user_id, kind, text) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, kind) DO NOTHING RETURNING id`,
    [n.id, n.order_id, n.user_id, n.kind, n.text],
  );
  if (rows.length === 0) return; // already told (an OrderCreated published again by the reconciler)
  await ctx.outbox.add(tx, [{ topic: TOPICS.notifications, type: 'NotificationSent', key: order.orderId, data: { ...n, sentBy: ctx.id } }]);
}
