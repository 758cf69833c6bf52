// Original file: schema/proto/catalog.proto

import type { Product as _interchange_catalog_v1_Product, Product__Output as _interchange_catalog_v1_Product__Output } from '../../../interchange/catalog/v1/Product.ts';

export interface GetProductsResponse {
  'products'?: (_interchange_catalog_v1_Product)[];
}

export interface GetProductsResponse__Output {
  'products': (_interchange_catalog_v1_Product__Output)[];
}
