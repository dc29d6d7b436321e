// Original file: examples/shop/proto/shop.proto


export interface ListNotificationsRequest {
  /**
   * Only this order's notifications (all when empty).
   */
  'order_id'?: (string);
  /**
   * At most this many, newest first. Default 50.
   */
  'limit'?: (number);
}

export interface ListNotificationsRequest__Output {
  /**
   * Only this order's notifications (all when empty).
   */
  'order_id': (string);
  /**
   * At most this many, newest first. Default 50.
   */
  'limit': (number);
}
