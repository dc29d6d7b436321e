// Original file: examples/shop/proto/shop.proto

import type { Item as _shop_v1_Item, Item__Output as _shop_v1_Item__Output } from '../../shop/v1/Item.js';

export interface Order {
  'id'?: (string);
  'user_id'?: (string);
  'items'?: (_shop_v1_Item)[];
  /**
   * pending (waiting for stock), reserved (stock held, being charged), cancelling / refunding
   * (compensation running), then one of the final statuses: paid or cancelled.
   */
  'status'?: (string);
  'created_at'?: (string);
  /**
   * When the reconciler steps in if the order is not final by then.
   */
  'deadline'?: (string);
  'served_by'?: (string);
  'amount_cents'?: (number);
  /**
   * Why an order was cancelled (empty otherwise).
   */
  'reason'?: (string);
}

export interface Order__Output {
  'id': (string);
  'user_id': (string);
  'items': (_shop_v1_Item__Output)[];
  /**
   * pending (waiting for stock), reserved (stock held, being charged), cancelling / refunding
   * (compensation running), then one of the final statuses: paid or cancelled.
   */
  'status': (string);
  'created_at': (string);
  /**
   * When the reconciler steps in if the order is not final by then.
   */
  'deadline': (string);
  'served_by': (string);
  'amount_cents': (number);
  /**
   * Why an order was cancelled (empty otherwise).
   */
  'reason': (string);
}
