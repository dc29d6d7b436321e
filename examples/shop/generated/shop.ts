import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { CustomHttpPattern as _google_api_CustomHttpPattern, CustomHttpPattern__Output as _google_api_CustomHttpPattern__Output } from './google/api/CustomHttpPattern.js';
import type { Http as _google_api_Http, Http__Output as _google_api_Http__Output } from './google/api/Http.js';
import type { HttpRule as _google_api_HttpRule, HttpRule__Output as _google_api_HttpRule__Output } from './google/api/HttpRule.js';
import type { DescriptorProto as _google_protobuf_DescriptorProto, DescriptorProto__Output as _google_protobuf_DescriptorProto__Output } from './google/protobuf/DescriptorProto.js';
import type { EnumDescriptorProto as _google_protobuf_EnumDescriptorProto, EnumDescriptorProto__Output as _google_protobuf_EnumDescriptorProto__Output } from './google/protobuf/EnumDescriptorProto.js';
import type { EnumOptions as _google_protobuf_EnumOptions, EnumOptions__Output as _google_protobuf_EnumOptions__Output } from './google/protobuf/EnumOptions.js';
import type { EnumValueDescriptorProto as _google_protobuf_EnumValueDescriptorProto, EnumValueDescriptorProto__Output as _google_protobuf_EnumValueDescriptorProto__Output } from './google/protobuf/EnumValueDescriptorProto.js';
import type { EnumValueOptions as _google_protobuf_EnumValueOptions, EnumValueOptions__Output as _google_protobuf_EnumValueOptions__Output } from './google/protobuf/EnumValueOptions.js';
import type { ExtensionRangeOptions as _google_protobuf_ExtensionRangeOptions, ExtensionRangeOptions__Output as _google_protobuf_ExtensionRangeOptions__Output } from './google/protobuf/ExtensionRangeOptions.js';
import type { FeatureSet as _google_protobuf_FeatureSet, FeatureSet__Output as _google_protobuf_FeatureSet__Output } from './google/protobuf/FeatureSet.js';
import type { FeatureSetDefaults as _google_protobuf_FeatureSetDefaults, FeatureSetDefaults__Output as _google_protobuf_FeatureSetDefaults__Output } from './google/protobuf/FeatureSetDefaults.js';
import type { FieldDescriptorProto as _google_protobuf_FieldDescriptorProto, FieldDescriptorProto__Output as _google_protobuf_FieldDescriptorProto__Output } from './google/protobuf/FieldDescriptorProto.js';
import type { FieldOptions as _google_protobuf_FieldOptions, FieldOptions__Output as _google_protobuf_FieldOptions__Output } from './google/protobuf/FieldOptions.js';
import type { FileDescriptorProto as _google_protobuf_FileDescriptorProto, FileDescriptorProto__Output as _google_protobuf_FileDescriptorProto__Output } from './google/protobuf/FileDescriptorProto.js';
import type { FileDescriptorSet as _google_protobuf_FileDescriptorSet, FileDescriptorSet__Output as _google_protobuf_FileDescriptorSet__Output } from './google/protobuf/FileDescriptorSet.js';
import type { FileOptions as _google_protobuf_FileOptions, FileOptions__Output as _google_protobuf_FileOptions__Output } from './google/protobuf/FileOptions.js';
import type { GeneratedCodeInfo as _google_protobuf_GeneratedCodeInfo, GeneratedCodeInfo__Output as _google_protobuf_GeneratedCodeInfo__Output } from './google/protobuf/GeneratedCodeInfo.js';
import type { MessageOptions as _google_protobuf_MessageOptions, MessageOptions__Output as _google_protobuf_MessageOptions__Output } from './google/protobuf/MessageOptions.js';
import type { MethodDescriptorProto as _google_protobuf_MethodDescriptorProto, MethodDescriptorProto__Output as _google_protobuf_MethodDescriptorProto__Output } from './google/protobuf/MethodDescriptorProto.js';
import type { MethodOptions as _google_protobuf_MethodOptions, MethodOptions__Output as _google_protobuf_MethodOptions__Output } from './google/protobuf/MethodOptions.js';
import type { OneofDescriptorProto as _google_protobuf_OneofDescriptorProto, OneofDescriptorProto__Output as _google_protobuf_OneofDescriptorProto__Output } from './google/protobuf/OneofDescriptorProto.js';
import type { OneofOptions as _google_protobuf_OneofOptions, OneofOptions__Output as _google_protobuf_OneofOptions__Output } from './google/protobuf/OneofOptions.js';
import type { ServiceDescriptorProto as _google_protobuf_ServiceDescriptorProto, ServiceDescriptorProto__Output as _google_protobuf_ServiceDescriptorProto__Output } from './google/protobuf/ServiceDescriptorProto.js';
import type { ServiceOptions as _google_protobuf_ServiceOptions, ServiceOptions__Output as _google_protobuf_ServiceOptions__Output } from './google/protobuf/ServiceOptions.js';
import type { SourceCodeInfo as _google_protobuf_SourceCodeInfo, SourceCodeInfo__Output as _google_protobuf_SourceCodeInfo__Output } from './google/protobuf/SourceCodeInfo.js';
import type { UninterpretedOption as _google_protobuf_UninterpretedOption, UninterpretedOption__Output as _google_protobuf_UninterpretedOption__Output } from './google/protobuf/UninterpretedOption.js';
import type { CreateOrderRequest as _shop_v1_CreateOrderRequest, CreateOrderRequest__Output as _shop_v1_CreateOrderRequest__Output } from './shop/v1/CreateOrderRequest.js';
import type { GetOrderRequest as _shop_v1_GetOrderRequest, GetOrderRequest__Output as _shop_v1_GetOrderRequest__Output } from './shop/v1/GetOrderRequest.js';
import type { GetPaymentRequest as _shop_v1_GetPaymentRequest, GetPaymentRequest__Output as _shop_v1_GetPaymentRequest__Output } from './shop/v1/GetPaymentRequest.js';
import type { GetStockRequest as _shop_v1_GetStockRequest, GetStockRequest__Output as _shop_v1_GetStockRequest__Output } from './shop/v1/GetStockRequest.js';
import type { GetUserRequest as _shop_v1_GetUserRequest, GetUserRequest__Output as _shop_v1_GetUserRequest__Output } from './shop/v1/GetUserRequest.js';
import type { InventoryServiceClient as _shop_v1_InventoryServiceClient, InventoryServiceDefinition as _shop_v1_InventoryServiceDefinition } from './shop/v1/InventoryService.js';
import type { Item as _shop_v1_Item, Item__Output as _shop_v1_Item__Output } from './shop/v1/Item.js';
import type { ListNotificationsRequest as _shop_v1_ListNotificationsRequest, ListNotificationsRequest__Output as _shop_v1_ListNotificationsRequest__Output } from './shop/v1/ListNotificationsRequest.js';
import type { Notification as _shop_v1_Notification, Notification__Output as _shop_v1_Notification__Output } from './shop/v1/Notification.js';
import type { NotificationList as _shop_v1_NotificationList, NotificationList__Output as _shop_v1_NotificationList__Output } from './shop/v1/NotificationList.js';
import type { NotificationServiceClient as _shop_v1_NotificationServiceClient, NotificationServiceDefinition as _shop_v1_NotificationServiceDefinition } from './shop/v1/NotificationService.js';
import type { Order as _shop_v1_Order, Order__Output as _shop_v1_Order__Output } from './shop/v1/Order.js';
import type { OrderServiceClient as _shop_v1_OrderServiceClient, OrderServiceDefinition as _shop_v1_OrderServiceDefinition } from './shop/v1/OrderService.js';
import type { PayRequest as _shop_v1_PayRequest, PayRequest__Output as _shop_v1_PayRequest__Output } from './shop/v1/PayRequest.js';
import type { Payment as _shop_v1_Payment, Payment__Output as _shop_v1_Payment__Output } from './shop/v1/Payment.js';
import type { PaymentServiceClient as _shop_v1_PaymentServiceClient, PaymentServiceDefinition as _shop_v1_PaymentServiceDefinition } from './shop/v1/PaymentService.js';
import type { RefundRequest as _shop_v1_RefundRequest, RefundRequest__Output as _shop_v1_RefundRequest__Output } from './shop/v1/RefundRequest.js';
import type { Stock as _shop_v1_Stock, Stock__Output as _shop_v1_Stock__Output } from './shop/v1/Stock.js';
import type { User as _shop_v1_User, User__Output as _shop_v1_User__Output } from './shop/v1/User.js';
import type { UserServiceClient as _shop_v1_UserServiceClient, UserServiceDefinition as _shop_v1_UserServiceDefinition } from './shop/v1/UserService.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    api: {
      CustomHttpPattern: MessageTypeDefinition<_google_api_CustomHttpPattern, _google_api_CustomHttpPattern__Output>
      Http: MessageTypeDefinition<_google_api_Http, _google_api_Http__Output>
      HttpRule: MessageTypeDefinition<_google_api_HttpRule, _google_api_HttpRule__Output>
    }
    protobuf: {
      DescriptorProto: MessageTypeDefinition<_google_protobuf_DescriptorProto, _google_protobuf_DescriptorProto__Output>
      Edition: EnumTypeDefinition
      EnumDescriptorProto: MessageTypeDefinition<_google_protobuf_EnumDescriptorProto, _google_protobuf_EnumDescriptorProto__Output>
      EnumOptions: MessageTypeDefinition<_google_protobuf_EnumOptions, _google_protobuf_EnumOptions__Output>
      EnumValueDescriptorProto: MessageTypeDefinition<_google_protobuf_EnumValueDescriptorProto, _google_protobuf_EnumValueDescriptorProto__Output>
      EnumValueOptions: MessageTypeDefinition<_google_protobuf_EnumValueOptions, _google_protobuf_EnumValueOptions__Output>
      ExtensionRangeOptions: MessageTypeDefinition<_google_protobuf_ExtensionRangeOptions, _google_protobuf_ExtensionRangeOptions__Output>
      FeatureSet: MessageTypeDefinition<_google_protobuf_FeatureSet, _google_protobuf_FeatureSet__Output>
      FeatureSetDefaults: MessageTypeDefinition<_google_protobuf_FeatureSetDefaults, _google_protobuf_FeatureSetDefaults__Output>
      FieldDescriptorProto: MessageTypeDefinition<_google_protobuf_FieldDescriptorProto, _google_protobuf_FieldDescriptorProto__Output>
      FieldOptions: MessageTypeDefinition<_google_protobuf_FieldOptions, _google_protobuf_FieldOptions__Output>
      FileDescriptorProto: MessageTypeDefinition<_google_protobuf_FileDescriptorProto, _google_protobuf_FileDescriptorProto__Output>
      FileDescriptorSet: MessageTypeDefinition<_google_protobuf_FileDescriptorSet, _google_protobuf_FileDescriptorSet__Output>
      FileOptions: MessageTypeDefinition<_google_protobuf_FileOptions, _google_protobuf_FileOptions__Output>
      GeneratedCodeInfo: MessageTypeDefinition<_google_protobuf_GeneratedCodeInfo, _google_protobuf_GeneratedCodeInfo__Output>
      MessageOptions: MessageTypeDefinition<_google_protobuf_MessageOptions, _google_protobuf_MessageOptions__Output>
      MethodDescriptorProto: MessageTypeDefinition<_google_protobuf_MethodDescriptorProto, _google_protobuf_MethodDescriptorProto__Output>
      MethodOptions: MessageTypeDefinition<_google_protobuf_MethodOptions, _google_protobuf_MethodOptions__Output>
      OneofDescriptorProto: MessageTypeDefinition<_google_protobuf_OneofDescriptorProto, _google_protobuf_OneofDescriptorProto__Output>
      OneofOptions: MessageTypeDefinition<_google_protobuf_OneofOptions, _google_protobuf_OneofOptions__Output>
      ServiceDescriptorProto: MessageTypeDefinition<_google_protobuf_ServiceDescriptorProto, _google_protobuf_ServiceDescriptorProto__Output>
      ServiceOptions: MessageTypeDefinition<_google_protobuf_ServiceOptions, _google_protobuf_ServiceOptions__Output>
      SourceCodeInfo: MessageTypeDefinition<_google_protobuf_SourceCodeInfo, _google_protobuf_SourceCodeInfo__Output>
      SymbolVisibility: EnumTypeDefinition
      UninterpretedOption: MessageTypeDefinition<_google_protobuf_UninterpretedOption, _google_protobuf_UninterpretedOption__Output>
    }
  }
  shop: {
    v1: {
      CreateOrderRequest: MessageTypeDefinition<_shop_v1_CreateOrderRequest, _shop_v1_CreateOrderRequest__Output>
      GetOrderRequest: MessageTypeDefinition<_shop_v1_GetOrderRequest, _shop_v1_GetOrderRequest__Output>
      GetPaymentRequest: MessageTypeDefinition<_shop_v1_GetPaymentRequest, _shop_v1_GetPaymentRequest__Output>
      GetStockRequest: MessageTypeDefinition<_shop_v1_GetStockRequest, _shop_v1_GetStockRequest__Output>
      GetUserRequest: MessageTypeDefinition<_shop_v1_GetUserRequest, _shop_v1_GetUserRequest__Output>
      InventoryService: SubtypeConstructor<typeof grpc.Client, _shop_v1_InventoryServiceClient> & { service: _shop_v1_InventoryServiceDefinition }
      Item: MessageTypeDefinition<_shop_v1_Item, _shop_v1_Item__Output>
      ListNotificationsRequest: MessageTypeDefinition<_shop_v1_ListNotificationsRequest, _shop_v1_ListNotificationsRequest__Output>
      Notification: MessageTypeDefinition<_shop_v1_Notification, _shop_v1_Notification__Output>
      NotificationList: MessageTypeDefinition<_shop_v1_NotificationList, _shop_v1_NotificationList__Output>
      NotificationService: SubtypeConstructor<typeof grpc.Client, _shop_v1_NotificationServiceClient> & { service: _shop_v1_NotificationServiceDefinition }
      Order: MessageTypeDefinition<_shop_v1_Order, _shop_v1_Order__Output>
      OrderService: SubtypeConstructor<typeof grpc.Client, _shop_v1_OrderServiceClient> & { service: _shop_v1_OrderServiceDefinition }
      PayRequest: MessageTypeDefinition<_shop_v1_PayRequest, _shop_v1_PayRequest__Output>
      Payment: MessageTypeDefinition<_shop_v1_Payment, _shop_v1_Payment__Output>
      PaymentService: SubtypeConstructor<typeof grpc.Client, _shop_v1_PaymentServiceClient> & { service: _shop_v1_PaymentServiceDefinition }
      RefundRequest: MessageTypeDefinition<_shop_v1_RefundRequest, _shop_v1_RefundRequest__Output>
      Stock: MessageTypeDefinition<_shop_v1_Stock, _shop_v1_Stock__Output>
      User: MessageTypeDefinition<_shop_v1_User, _shop_v1_User__Output>
      UserService: SubtypeConstructor<typeof grpc.Client, _shop_v1_UserServiceClient> & { service: _shop_v1_UserServiceDefinition }
    }
  }
}

