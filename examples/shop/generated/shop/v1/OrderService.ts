// Original file: examples/shop/proto/shop.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CreateOrderRequest as _shop_v1_CreateOrderRequest, CreateOrderRequest__Output as _shop_v1_CreateOrderRequest__Output } from '../../shop/v1/CreateOrderRequest.js';
import type { GetOrderRequest as _shop_v1_GetOrderRequest, GetOrderRequest__Output as _shop_v1_GetOrderRequest__Output } from '../../shop/v1/GetOrderRequest.js';
import type { Order as _shop_v1_Order, Order__Output as _shop_v1_Order__Output } from '../../shop/v1/Order.js';

export interface OrderServiceClient extends grpc.Client {
  /**
   * Writes the order (status "pending") and its OrderCreated event in one transaction and answers
   * at once; the rest of the flow happens through events.
   */
  CreateOrder(argument: _shop_v1_CreateOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  CreateOrder(argument: _shop_v1_CreateOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  CreateOrder(argument: _shop_v1_CreateOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  CreateOrder(argument: _shop_v1_CreateOrderRequest, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  /**
   * Writes the order (status "pending") and its OrderCreated event in one transaction and answers
   * at once; the rest of the flow happens through events.
   */
  createOrder(argument: _shop_v1_CreateOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  createOrder(argument: _shop_v1_CreateOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  createOrder(argument: _shop_v1_CreateOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  createOrder(argument: _shop_v1_CreateOrderRequest, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  
  GetOrder(argument: _shop_v1_GetOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  GetOrder(argument: _shop_v1_GetOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  GetOrder(argument: _shop_v1_GetOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  GetOrder(argument: _shop_v1_GetOrderRequest, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  getOrder(argument: _shop_v1_GetOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  getOrder(argument: _shop_v1_GetOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  getOrder(argument: _shop_v1_GetOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  getOrder(argument: _shop_v1_GetOrderRequest, callback: grpc.requestCallback<_shop_v1_Order__Output>): grpc.ClientUnaryCall;
  
}

export interface OrderServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Writes the order (status "pending") and its OrderCreated event in one transaction and answers
   * at once; the rest of the flow happens through events.
   */
  CreateOrder: grpc.handleUnaryCall<_shop_v1_CreateOrderRequest__Output, _shop_v1_Order>;
  
  GetOrder: grpc.handleUnaryCall<_shop_v1_GetOrderRequest__Output, _shop_v1_Order>;
  
}

export interface OrderServiceDefinition extends grpc.ServiceDefinition {
  CreateOrder: MethodDefinition<_shop_v1_CreateOrderRequest, _shop_v1_Order, _shop_v1_CreateOrderRequest__Output, _shop_v1_Order__Output>
  GetOrder: MethodDefinition<_shop_v1_GetOrderRequest, _shop_v1_Order, _shop_v1_GetOrderRequest__Output, _shop_v1_Order__Output>
}
