// Original file: examples/shop/proto/shop.proto


export interface Item {
  'sku'?: (string);
  'quantity'?: (number);
}

export interface Item__Output {
  'sku': (string);
  'quantity': (number);
}
