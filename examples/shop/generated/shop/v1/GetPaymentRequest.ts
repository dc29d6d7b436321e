// Original file: examples/shop/proto/shop.proto


export interface GetPaymentRequest {
  'order_id'?: (string);
}

export interface GetPaymentRequest__Output {
  'order_id': (string);
}
