// Original file: examples/shop/proto/shop.proto

import type { Item as _shop_v1_Item, Item__Output as _shop_v1_Item__Output } from '../../shop/v1/Item.js';

export interface ReserveRequest {
  'order_id'?: (string);
  'items'?: (_shop_v1_Item)[];
}

export interface ReserveRequest__Output {
  'order_id': (string);
  'items': (_shop_v1_Item__Output)[];
}
