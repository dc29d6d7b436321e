// Original file: examples/shop/proto/shop.proto

import type { Long } from '@grpc/proto-loader';

export interface Stock {
  'sku'?: (string);
  'available'?: (number);
  /**
   * Fencing token of the last lock holder that changed this stock (checked by the database).
   */
  'fencing_token'?: (number | string | Long);
  'served_by'?: (string);
  'reserved'?: (number);
  'sold'?: (number);
}

export interface Stock__Output {
  'sku': (string);
  'available': (number);
  /**
   * Fencing token of the last lock holder that changed this stock (checked by the database).
   */
  'fencing_token': (string);
  'served_by': (string);
  'reserved': (number);
  'sold': (number);
}
