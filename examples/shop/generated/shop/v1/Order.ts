// Original file: examples/shop/proto/shop.proto

import type { Item as _shop_v1_Item, Item__Output as _shop_v1_Item__Output } from '../../shop/v1/Item.js';

export interface Order {
  'id'?: (string);
  'user_id'?: (string);
  'items'?: (_shop_v1_Item)[];
  /**
   * RESERVED (stock held until expires_at), PAID, or EXPIRED (stock released by the expiry job).
   */
  'status'?: (string);
  'created_at'?: (string);
  'expires_at'?: (string);
  'served_by'?: (string);
}

export interface Order__Output {
  'id': (string);
  'user_id': (string);
  'items': (_shop_v1_Item__Output)[];
  /**
   * RESERVED (stock held until expires_at), PAID, or EXPIRED (stock released by the expiry job).
   */
  'status': (string);
  'created_at': (string);
  'expires_at': (string);
  'served_by': (string);
}
