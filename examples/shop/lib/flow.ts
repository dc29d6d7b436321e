// The order flow's events: topics, types and payloads, checked where they are consumed. A payload
// that does not parse throws, so after the consumer's maxAttempts it ends in the engine's
// dead-letter list (`coord events dead …`) instead of being dropped silently.
import { z } from 'zod';
import type { Delivery } from 'etcd-coord/events';

export const TOPICS = { orders: 'orders', inventory: 'inventory', payments: 'payments', notifications: 'notifications' } as const;

/** Deliveries before an event that keeps failing becomes a dead letter. */
export const MAX_ATTEMPTS = 5;

const ItemSchema = z.object({ sku: z.string().min(1), quantity: z.number().int().positive() });

/** orders: OrderCreated, OrderPaid, OrderCancelled (with `reason`). */
export const OrderEventSchema = z.object({
  orderId: z.string().min(1),
  userId: z.string(),
  items: z.array(ItemSchema).min(1),
  amountCents: z.number().int().min(0),
  reason: z.string().optional(),
});
export type OrderEvent = z.infer<typeof OrderEventSchema>;

/** inventory: StockReserved, StockRejected (with `reason`), StockReleased, StockSold, StockShortfall (a paid order with no reservation). */
export const StockEventSchema = z.object({ orderId: z.string().min(1), items: z.array(ItemSchema), reason: z.string().optional() });
export type StockEvent = z.infer<typeof StockEventSchema>;

/** payments: PaymentCharged, PaymentDeclined, PaymentRefunded, PaymentVoided. */
export const PaymentEventSchema = z.object({ orderId: z.string().min(1), amountCents: z.number().int().min(0) });
export type PaymentEvent = z.infer<typeof PaymentEventSchema>;

/** The payload of `event`, or an error naming the event (the delivery fails; retried, then a dead letter). */
export function payload<T>(schema: z.ZodType<T>, event: Delivery): T {
  const r = schema.safeParse(event.data);
  if (!r.success) throw new Error(`malformed ${event.type} event ${event.id}: ${r.error.issues.map((i) => `${i.path.join('.') || 'data'}: ${i.message}`).join('; ')}`);
  return r.data;
}
