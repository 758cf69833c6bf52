// Original file: schema/proto/catalog.proto


export interface GetProductsRequest {
  'ids'?: (string)[];
}

export interface GetProductsRequest__Output {
  'ids': (string)[];
}
