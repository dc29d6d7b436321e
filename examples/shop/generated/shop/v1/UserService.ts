// Original file: examples/shop/proto/shop.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetUserRequest as _shop_v1_GetUserRequest, GetUserRequest__Output as _shop_v1_GetUserRequest__Output } from '../../shop/v1/GetUserRequest.js';
import type { User as _shop_v1_User, User__Output as _shop_v1_User__Output } from '../../shop/v1/User.js';

export interface UserServiceClient extends grpc.Client {
  GetUser(argument: _shop_v1_GetUserRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_User__Output>): grpc.ClientUnaryCall;
  GetUser(argument: _shop_v1_GetUserRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_User__Output>): grpc.ClientUnaryCall;
  GetUser(argument: _shop_v1_GetUserRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_User__Output>): grpc.ClientUnaryCall;
  GetUser(argument: _shop_v1_GetUserRequest, callback: grpc.requestCallback<_shop_v1_User__Output>): grpc.ClientUnaryCall;
  getUser(argument: _shop_v1_GetUserRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_User__Output>): grpc.ClientUnaryCall;
  getUser(argument: _shop_v1_GetUserRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_User__Output>): grpc.ClientUnaryCall;
  getUser(argument: _shop_v1_GetUserRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_User__Output>): grpc.ClientUnaryCall;
  getUser(argument: _shop_v1_GetUserRequest, callback: grpc.requestCallback<_shop_v1_User__Output>): grpc.ClientUnaryCall;
  
}

export interface UserServiceHandlers extends grpc.UntypedServiceImplementation {
  GetUser: grpc.handleUnaryCall<_shop_v1_GetUserRequest__Output, _shop_v1_User>;
  
}

export interface UserServiceDefinition extends grpc.ServiceDefinition {
  GetUser: MethodDefinition<_shop_v1_GetUserRequest, _shop_v1_User, _shop_v1_GetUserRequest__Output, _shop_v1_User__Output>
}
