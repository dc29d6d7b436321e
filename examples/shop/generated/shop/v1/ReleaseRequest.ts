// Original file: examples/shop/proto/shop.proto


export interface ReleaseRequest {
  'order_id'?: (string);
}

export interface ReleaseRequest__Output {
  'order_id': (string);
}
