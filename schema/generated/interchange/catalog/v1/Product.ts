// Original file: schema/proto/catalog.proto


export interface Product {
  'id'?: (string);
  'name'?: (string);
  'priceCents'?: (number);
  'stock'?: (number);
}

export interface Product__Output {
  'id': (string);
  'name': (string);
  'priceCents': (number);
  'stock': (number);
}
