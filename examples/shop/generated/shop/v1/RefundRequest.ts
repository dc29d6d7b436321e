// Original file: examples/shop/proto/shop.proto


export interface RefundRequest {
  'order_id'?: (string);
}

export interface RefundRequest__Output {
  'order_id': (string);
}
