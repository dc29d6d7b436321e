// Original file: examples/shop/proto/shop.proto


export interface GetStockRequest {
  'sku'?: (string);
}

export interface GetStockRequest__Output {
  'sku': (string);
}
