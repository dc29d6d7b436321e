// Original file: examples/shop/proto/shop.proto


export interface Payment {
  'order_id'?: (string);
  /**
   * charged, declined, refunded, or voided (refunded before any charge: a later Pay declines).
   */
  'status'?: (string);
  'amount_cents'?: (number);
  'served_by'?: (string);
}

export interface Payment__Output {
  'order_id': (string);
  /**
   * charged, declined, refunded, or voided (refunded before any charge: a later Pay declines).
   */
  'status': (string);
  'amount_cents': (number);
  'served_by': (string);
}
