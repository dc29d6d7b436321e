// Original file: examples/shop/proto/shop.proto

import type { Item as _shop_v1_Item, Item__Output as _shop_v1_Item__Output } from '../../shop/v1/Item.js';

export interface CreateOrderRequest {
  'user_id'?: (string);
  'items'?: (_shop_v1_Item)[];
}

export interface CreateOrderRequest__Output {
  'user_id': (string);
  'items': (_shop_v1_Item__Output)[];
}
