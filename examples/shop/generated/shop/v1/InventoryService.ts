// Original file: examples/shop/proto/shop.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetStockRequest as _shop_v1_GetStockRequest, GetStockRequest__Output as _shop_v1_GetStockRequest__Output } from '../../shop/v1/GetStockRequest.js';
import type { ReleaseRequest as _shop_v1_ReleaseRequest, ReleaseRequest__Output as _shop_v1_ReleaseRequest__Output } from '../../shop/v1/ReleaseRequest.js';
import type { Reservation as _shop_v1_Reservation, Reservation__Output as _shop_v1_Reservation__Output } from '../../shop/v1/Reservation.js';
import type { ReserveRequest as _shop_v1_ReserveRequest, ReserveRequest__Output as _shop_v1_ReserveRequest__Output } from '../../shop/v1/ReserveRequest.js';
import type { Stock as _shop_v1_Stock, Stock__Output as _shop_v1_Stock__Output } from '../../shop/v1/Stock.js';

export interface InventoryServiceClient extends grpc.Client {
  GetStock(argument: _shop_v1_GetStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Stock__Output>): grpc.ClientUnaryCall;
  GetStock(argument: _shop_v1_GetStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Stock__Output>): grpc.ClientUnaryCall;
  GetStock(argument: _shop_v1_GetStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Stock__Output>): grpc.ClientUnaryCall;
  GetStock(argument: _shop_v1_GetStockRequest, callback: grpc.requestCallback<_shop_v1_Stock__Output>): grpc.ClientUnaryCall;
  getStock(argument: _shop_v1_GetStockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Stock__Output>): grpc.ClientUnaryCall;
  getStock(argument: _shop_v1_GetStockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Stock__Output>): grpc.ClientUnaryCall;
  getStock(argument: _shop_v1_GetStockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Stock__Output>): grpc.ClientUnaryCall;
  getStock(argument: _shop_v1_GetStockRequest, callback: grpc.requestCallback<_shop_v1_Stock__Output>): grpc.ClientUnaryCall;
  
  /**
   * Puts an order's reserved stock back. Idempotent per order_id.
   */
  Release(argument: _shop_v1_ReleaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  Release(argument: _shop_v1_ReleaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  Release(argument: _shop_v1_ReleaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  Release(argument: _shop_v1_ReleaseRequest, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  /**
   * Puts an order's reserved stock back. Idempotent per order_id.
   */
  release(argument: _shop_v1_ReleaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  release(argument: _shop_v1_ReleaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  release(argument: _shop_v1_ReleaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  release(argument: _shop_v1_ReleaseRequest, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  
  /**
   * Takes stock for an order, all items or none. Idempotent per order_id (safe to retry).
   */
  Reserve(argument: _shop_v1_ReserveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  Reserve(argument: _shop_v1_ReserveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  Reserve(argument: _shop_v1_ReserveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  Reserve(argument: _shop_v1_ReserveRequest, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  /**
   * Takes stock for an order, all items or none. Idempotent per order_id (safe to retry).
   */
  reserve(argument: _shop_v1_ReserveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  reserve(argument: _shop_v1_ReserveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  reserve(argument: _shop_v1_ReserveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  reserve(argument: _shop_v1_ReserveRequest, callback: grpc.requestCallback<_shop_v1_Reservation__Output>): grpc.ClientUnaryCall;
  
}

export interface InventoryServiceHandlers extends grpc.UntypedServiceImplementation {
  GetStock: grpc.handleUnaryCall<_shop_v1_GetStockRequest__Output, _shop_v1_Stock>;
  
  /**
   * Puts an order's reserved stock back. Idempotent per order_id.
   */
  Release: grpc.handleUnaryCall<_shop_v1_ReleaseRequest__Output, _shop_v1_Reservation>;
  
  /**
   * Takes stock for an order, all items or none. Idempotent per order_id (safe to retry).
   */
  Reserve: grpc.handleUnaryCall<_shop_v1_ReserveRequest__Output, _shop_v1_Reservation>;
  
}

export interface InventoryServiceDefinition extends grpc.ServiceDefinition {
  GetStock: MethodDefinition<_shop_v1_GetStockRequest, _shop_v1_Stock, _shop_v1_GetStockRequest__Output, _shop_v1_Stock__Output>
  Release: MethodDefinition<_shop_v1_ReleaseRequest, _shop_v1_Reservation, _shop_v1_ReleaseRequest__Output, _shop_v1_Reservation__Output>
  Reserve: MethodDefinition<_shop_v1_ReserveRequest, _shop_v1_Reservation, _shop_v1_ReserveRequest__Output, _shop_v1_Reservation__Output>
}
