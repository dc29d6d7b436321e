// Original file: examples/shop/proto/shop.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetPaymentRequest as _shop_v1_GetPaymentRequest, GetPaymentRequest__Output as _shop_v1_GetPaymentRequest__Output } from '../../shop/v1/GetPaymentRequest.js';
import type { PayRequest as _shop_v1_PayRequest, PayRequest__Output as _shop_v1_PayRequest__Output } from '../../shop/v1/PayRequest.js';
import type { Payment as _shop_v1_Payment, Payment__Output as _shop_v1_Payment__Output } from '../../shop/v1/Payment.js';
import type { RefundRequest as _shop_v1_RefundRequest, RefundRequest__Output as _shop_v1_RefundRequest__Output } from '../../shop/v1/RefundRequest.js';

export interface PaymentServiceClient extends grpc.Client {
  GetPayment(argument: _shop_v1_GetPaymentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  GetPayment(argument: _shop_v1_GetPaymentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  GetPayment(argument: _shop_v1_GetPaymentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  GetPayment(argument: _shop_v1_GetPaymentRequest, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  getPayment(argument: _shop_v1_GetPaymentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  getPayment(argument: _shop_v1_GetPaymentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  getPayment(argument: _shop_v1_GetPaymentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  getPayment(argument: _shop_v1_GetPaymentRequest, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  
  /**
   * Charges an order once: a second call for the same order answers the first's result.
   */
  Pay(argument: _shop_v1_PayRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  Pay(argument: _shop_v1_PayRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  Pay(argument: _shop_v1_PayRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  Pay(argument: _shop_v1_PayRequest, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  /**
   * Charges an order once: a second call for the same order answers the first's result.
   */
  pay(argument: _shop_v1_PayRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  pay(argument: _shop_v1_PayRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  pay(argument: _shop_v1_PayRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  pay(argument: _shop_v1_PayRequest, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  
  /**
   * Gives an order's charge back (once); before any charge it voids the order, so a late Pay declines.
   */
  Refund(argument: _shop_v1_RefundRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  Refund(argument: _shop_v1_RefundRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  Refund(argument: _shop_v1_RefundRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  Refund(argument: _shop_v1_RefundRequest, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  /**
   * Gives an order's charge back (once); before any charge it voids the order, so a late Pay declines.
   */
  refund(argument: _shop_v1_RefundRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  refund(argument: _shop_v1_RefundRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  refund(argument: _shop_v1_RefundRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  refund(argument: _shop_v1_RefundRequest, callback: grpc.requestCallback<_shop_v1_Payment__Output>): grpc.ClientUnaryCall;
  
}

export interface PaymentServiceHandlers extends grpc.UntypedServiceImplementation {
  GetPayment: grpc.handleUnaryCall<_shop_v1_GetPaymentRequest__Output, _shop_v1_Payment>;
  
  /**
   * Charges an order once: a second call for the same order answers the first's result.
   */
  Pay: grpc.handleUnaryCall<_shop_v1_PayRequest__Output, _shop_v1_Payment>;
  
  /**
   * Gives an order's charge back (once); before any charge it voids the order, so a late Pay declines.
   */
  Refund: grpc.handleUnaryCall<_shop_v1_RefundRequest__Output, _shop_v1_Payment>;
  
}

export interface PaymentServiceDefinition extends grpc.ServiceDefinition {
  GetPayment: MethodDefinition<_shop_v1_GetPaymentRequest, _shop_v1_Payment, _shop_v1_GetPaymentRequest__Output, _shop_v1_Payment__Output>
  Pay: MethodDefinition<_shop_v1_PayRequest, _shop_v1_Payment, _shop_v1_PayRequest__Output, _shop_v1_Payment__Output>
  Refund: MethodDefinition<_shop_v1_RefundRequest, _shop_v1_Payment, _shop_v1_RefundRequest__Output, _shop_v1_Payment__Output>
}
