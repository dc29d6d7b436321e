// payment-service (two instances): Pay, Refund and GetPayment over gRPC (the order service needs
// the answer), idempotent per order id, with a money ledger in PostgreSQL (lib/ledger.ts) and
// PaymentCharged / PaymentDeclined / PaymentRefunded / PaymentVoided events through its outbox.
// The `payment` fault switch in the `shop/faults` config declines new charges or delays answers:
//   coord config publish shop faults '{"payment":{"decline":true,"delayMs":3000}}'
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { GetPaymentRequest__Output } from './generated/shop/v1/GetPaymentRequest.js';
import type { Payment } from './generated/shop/v1/Payment.js';
import type { PayRequest__Output } from './generated/shop/v1/PayRequest.js';
import type { RefundRequest__Output } from './generated/shop/v1/RefundRequest.js';
import { Ledger, PAYMENT_TABLES, type PaymentRow } from './lib/ledger.ts';
import { grpcError, shop } from './lib/proto.ts';
import { runService, unary } from './lib/service.ts';

await runService({
  name: 'payment-service',
  database: { schema: 'payments', statements: PAYMENT_TABLES },
  outbox: 'payments',
  services: (ctx) => {
    let ledger: Ledger | undefined;
    const books = () => (ledger ??= new Ledger(ctx.db, ctx.outbox));
    const reply = (p: PaymentRow): Payment => ({ ...p, served_by: ctx.id });
    const orderId = (id: string) => {
      if (!id) throw grpcError(grpc.status.INVALID_ARGUMENT, 'order_id is required');
      return id;
    };
    return [
      [
        shop().PaymentService,
        {
          Pay: unary(async ({ order_id, amount_cents }: PayRequest__Output) => {
            orderId(order_id);
            if (!(amount_cents > 0)) throw grpcError(grpc.status.INVALID_ARGUMENT, `amount_cents must be > 0, got ${amount_cents}`);
            const fault = ctx.faults().payment;
            if (fault?.delayMs) {
              // A slow processor: the charge still happens after the delay (a caller that gave up
              // learns of it by asking again), unless this instance shuts down first.
              ctx.log(`payment of ${order_id}: delayed ${fault.delayMs} ms (fault switch)`);
              await sleep(fault.delayMs, undefined, { signal: ctx.draining }).catch(() => {
                throw grpcError(grpc.status.UNAVAILABLE, `payment-service ${ctx.id} is shutting down; ${order_id} was not charged`);
              });
            }
            const p = await books().pay(order_id, amount_cents, !!fault?.decline);
            if (p.status === 'declined' && fault?.decline) ctx.log(`payment of ${order_id}: declined (fault switch)`);
            return reply(p);
          }),
          Refund: unary(async ({ order_id }: RefundRequest__Output) => reply(await books().refund(orderId(order_id)))),
          GetPayment: unary(async ({ order_id }: GetPaymentRequest__Output) => {
            const p = await books().get(orderId(order_id));
            if (!p) throw grpcError(grpc.status.NOT_FOUND, `no payment for order ${JSON.stringify(order_id)}`);
            return reply(p);
          }),
        },
      ],
    ];
  },
});
