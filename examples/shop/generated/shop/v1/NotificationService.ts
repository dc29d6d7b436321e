// Original file: examples/shop/proto/shop.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ListNotificationsRequest as _shop_v1_ListNotificationsRequest, ListNotificationsRequest__Output as _shop_v1_ListNotificationsRequest__Output } from '../../shop/v1/ListNotificationsRequest.js';
import type { NotificationList as _shop_v1_NotificationList, NotificationList__Output as _shop_v1_NotificationList__Output } from '../../shop/v1/NotificationList.js';

export interface NotificationServiceClient extends grpc.Client {
  ListNotifications(argument: _shop_v1_ListNotificationsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_NotificationList__Output>): grpc.ClientUnaryCall;
  ListNotifications(argument: _shop_v1_ListNotificationsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_NotificationList__Output>): grpc.ClientUnaryCall;
  ListNotifications(argument: _shop_v1_ListNotificationsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_NotificationList__Output>): grpc.ClientUnaryCall;
  ListNotifications(argument: _shop_v1_ListNotificationsRequest, callback: grpc.requestCallback<_shop_v1_NotificationList__Output>): grpc.ClientUnaryCall;
  listNotifications(argument: _shop_v1_ListNotificationsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_NotificationList__Output>): grpc.ClientUnaryCall;
  listNotifications(argument: _shop_v1_ListNotificationsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_shop_v1_NotificationList__Output>): grpc.ClientUnaryCall;
  listNotifications(argument: _shop_v1_ListNotificationsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_shop_v1_NotificationList__Output>): grpc.ClientUnaryCall;
  listNotifications(argument: _shop_v1_ListNotificationsRequest, callback: grpc.requestCallback<_shop_v1_NotificationList__Output>): grpc.ClientUnaryCall;
  
}

export interface NotificationServiceHandlers extends grpc.UntypedServiceImplementation {
  ListNotifications: grpc.handleUnaryCall<_shop_v1_ListNotificationsRequest__Output, _shop_v1_NotificationList>;
  
}

export interface NotificationServiceDefinition extends grpc.ServiceDefinition {
  ListNotifications: MethodDefinition<_shop_v1_ListNotificationsRequest, _shop_v1_NotificationList, _shop_v1_ListNotificationsRequest__Output, _shop_v1_NotificationList__Output>
}
