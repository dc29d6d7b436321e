// Original file: examples/shop/proto/shop.proto


export interface User {
  'id'?: (string);
  'name'?: (string);
  'email'?: (string);
  /**
   * The instance that answered (to watch load balancing at work).
   */
  'served_by'?: (string);
}

export interface User__Output {
  'id': (string);
  'name': (string);
  'email': (string);
  /**
   * The instance that answered (to watch load balancing at work).
   */
  'served_by': (string);
}
