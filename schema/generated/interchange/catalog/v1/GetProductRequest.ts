// Original file: schema/proto/catalog.proto


export interface GetProductRequest {
  'id'?: (string);
}

export interface GetProductRequest__Output {
  'id': (string);
}
