// Original file: examples/shop/proto/shop.proto

import type { Notification as _shop_v1_Notification, Notification__Output as _shop_v1_Notification__Output } from '../../shop/v1/Notification.js';

export interface NotificationList {
  'notifications'?: (_shop_v1_Notification)[];
  'served_by'?: (string);
}

export interface NotificationList__Output {
  'notifications': (_shop_v1_Notification__Output)[];
  'served_by': (string);
}
