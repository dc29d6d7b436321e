// The order service's side of the flow, shared by the event consumers and the reconciler: charge a
// reserved order through payment-service (gRPC: the answer decides what happens next), compensate
// an order whose step keeps failing (refund or void the payment, then cancel: inventory releases
// the stock on OrderCancelled), and drive again an order that missed its deadline.
import type * as grpc from '@grpc/grpc-js';
import type { PaymentServiceClient } from '../generated/shop/v1/PaymentService.js';
import { call } from './proto.ts';
import type { OrderRow, OrderStore } from './orders.ts';

export interface FlowLimits {
  /** How long one Pay call may take, ms. */
  paymentTimeoutMs: number;
  /** Reconciliation rounds for one step before its compensation runs. */
  reconcileAttempts: number;
  /** How long the reconciler waits before it looks at an order again, s. */
  retrySeconds: number;
}

export class OrderFlow {
  constructor(
    private readonly orders: OrderStore,
    private readonly payments: PaymentServiceClient,
    private readonly limits: () => FlowLimits,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Charges a reserved order: charged → paid + OrderPaid; declined (or voided by a compensation) →
   * cancelled + OrderCancelled. Returns the error when payment-service did not answer in time (the
   * order stays reserved: the reconciler tries again, then compensates).
   */
  async charge(id: string): Promise<string | undefined> {
    const order = await this.orders.get(id);
    if (order?.status !== 'reserved') return undefined;
    let status: string;
    try {
      const p = await call(this.payments, 'Pay', { order_id: id, amount_cents: order.amount_cents }, { deadline: Date.now() + this.limits().paymentTimeoutMs });
      status = p.status;
    } catch (e) {
      const error = `payment not answered: ${(e as grpc.ServiceError).details ?? (e as Error).message}`;
      this.log(`order ${id}: ${error}`);
      await this.orders.noteError(id, error);
      return error;
    }
    // Both moves need the order still reserved: a compensation that claimed it (cancelling) wins, and refunds what was charged.
    if (status === 'charged') {
      if (await this.orders.move(id, ['reserved'], 'paid', { event: 'OrderPaid' })) this.log(`order ${id}: paid`);
    } else if (await this.orders.move(id, ['reserved'], 'cancelled', { event: 'OrderCancelled', reason: `payment ${status}` })) {
      this.log(`order ${id}: cancelled (payment ${status})`);
    }
    return undefined;
  }

  /** Refund (or void) an order's payment. */
  refund(id: string) {
    return call(this.payments, 'Refund', { order_id: id }, { deadline: Date.now() + this.limits().paymentTimeoutMs });
  }

  /** Runs the compensation of an order in cancelling / refunding: Refund (a void when nothing was charged), then cancelled + OrderCancelled. Throws when payment-service does not answer (tried again later). */
  async compensate(order: OrderRow): Promise<void> {
    const p = await this.refund(order.id);
    const reason = order.reason || 'compensated';
    if (await this.orders.move(order.id, [order.status], 'cancelled', { event: 'OrderCancelled', reason })) this.log(`order ${order.id}: cancelled (${reason}; payment ${p.status})`);
  }

  /** One reconciliation round of an order past its deadline. */
  async reconcile(order: OrderRow): Promise<void> {
    const { reconcileAttempts, retrySeconds } = this.limits();
    const exhausted = order.attempts >= reconcileAttempts;
    switch (order.status) {
      case 'pending':
        // Inventory has not answered: publish OrderCreated again (inventory answers again if it decided), then give up.
        if (!exhausted) {
          this.log(`reconciler: order ${order.id} still pending after its deadline: OrderCreated again (attempt ${order.attempts + 1})`);
          return this.orders.retryLater(order, 'stock not answered', retrySeconds, true);
        }
        if (await this.orders.move(order.id, ['pending'], 'cancelled', { event: 'OrderCancelled', reason: 'stock not answered in time' })) this.log(`reconciler: order ${order.id} cancelled: stock not answered in time`);
        return;
      case 'reserved': {
        if (!exhausted) {
          this.log(`reconciler: order ${order.id} not paid after its deadline: charging again (attempt ${order.attempts + 1})`);
          const error = await this.charge(order.id);
          if (error) await this.orders.retryLater(order, error, retrySeconds);
          return;
        }
        // Claim it first, so a Pay answer still on its way cannot mark it paid while we refund.
        const claimed = await this.orders.move(order.id, ['reserved'], 'cancelling', { reason: `payment not completed after ${order.attempts} attempts (${order.last_error || 'no answer'})` });
        if (claimed) return this.compensate(claimed);
        return;
      }
      case 'cancelling':
      case 'refunding':
        return this.compensate(order);
    }
  }
}
