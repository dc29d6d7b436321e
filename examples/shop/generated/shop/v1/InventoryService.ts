// Original file: examples/shop/proto/shop.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetStockRequest as _shop_v1_GetStockRequest, GetStockRequest__Output as _shop_v1_GetStockRequest__Output } from '../../shop/v1/GetStockRequest.js';
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
  
}

export interface InventoryServiceHandlers extends grpc.UntypedServiceImplementation {
  GetStock: grpc.handleUnaryCall<_shop_v1_GetStockRequest__Output, _shop_v1_Stock>;
  
}

export interface InventoryServiceDefinition extends grpc.ServiceDefinition {
  GetStock: MethodDefinition<_shop_v1_GetStockRequest, _shop_v1_Stock, _shop_v1_GetStockRequest__Output, _shop_v1_Stock__Output>
}
