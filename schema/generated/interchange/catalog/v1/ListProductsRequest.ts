// Original file: schema/proto/catalog.proto


export interface ListProductsRequest {
  'pageSize'?: (number);
  'pageToken'?: (string);
}

export interface ListProductsRequest__Output {
  'pageSize': (number);
  'pageToken': (string);
}
