// Original file: examples/shop/proto/shop.proto


export interface PayOrderRequest {
  'id'?: (string);
}

export interface PayOrderRequest__Output {
  'id': (string);
}
