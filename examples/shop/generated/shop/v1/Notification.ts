// Original file: examples/shop/proto/shop.proto


export interface Notification {
  'id'?: (string);
  'order_id'?: (string);
  'user_id'?: (string);
  /**
   * The event it answers (OrderCreated, OrderPaid, OrderCancelled).
   */
  'kind'?: (string);
  'text'?: (string);
  'sent_at'?: (string);
}

export interface Notification__Output {
  'id': (string);
  'order_id': (string);
  'user_id': (string);
  /**
   * The event it answers (OrderCreated, OrderPaid, OrderCancelled).
   */
  'kind': (string);
  'text': (string);
  'sent_at': (string);
}
