// Original file: examples/shop/proto/shop.proto


export interface PayRequest {
  'order_id'?: (string);
  'amount_cents'?: (number);
}

export interface PayRequest__Output {
  'order_id': (string);
  'amount_cents': (number);
}
