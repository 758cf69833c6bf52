import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { CatalogClient as _interchange_catalog_v1_CatalogClient, CatalogDefinition as _interchange_catalog_v1_CatalogDefinition } from './interchange/catalog/v1/Catalog.ts';
import type { GetProductRequest as _interchange_catalog_v1_GetProductRequest, GetProductRequest__Output as _interchange_catalog_v1_GetProductRequest__Output } from './interchange/catalog/v1/GetProductRequest.ts';
import type { GetProductsRequest as _interchange_catalog_v1_GetProductsRequest, GetProductsRequest__Output as _interchange_catalog_v1_GetProductsRequest__Output } from './interchange/catalog/v1/GetProductsRequest.ts';
import type { GetProductsResponse as _interchange_catalog_v1_GetProductsResponse, GetProductsResponse__Output as _interchange_catalog_v1_GetProductsResponse__Output } from './interchange/catalog/v1/GetProductsResponse.ts';
import type { ListProductsRequest as _interchange_catalog_v1_ListProductsRequest, ListProductsRequest__Output as _interchange_catalog_v1_ListProductsRequest__Output } from './interchange/catalog/v1/ListProductsRequest.ts';
import type { ListProductsResponse as _interchange_catalog_v1_ListProductsResponse, ListProductsResponse__Output as _interchange_catalog_v1_ListProductsResponse__Output } from './interchange/catalog/v1/ListProductsResponse.ts';
import type { Product as _interchange_catalog_v1_Product, Product__Output as _interchange_catalog_v1_Product__Output } from './interchange/catalog/v1/Product.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  interchange: {
    catalog: {
      v1: {
        Catalog: SubtypeConstructor<typeof grpc.Client, _interchange_catalog_v1_CatalogClient> & { service: _interchange_catalog_v1_CatalogDefinition }
        GetProductRequest: MessageTypeDefinition<_interchange_catalog_v1_GetProductRequest, _interchange_catalog_v1_GetProductRequest__Output>
        GetProductsRequest: MessageTypeDefinition<_interchange_catalog_v1_GetProductsRequest, _interchange_catalog_v1_GetProductsRequest__Output>
        GetProductsResponse: MessageTypeDefinition<_interchange_catalog_v1_GetProductsResponse, _interchange_catalog_v1_GetProductsResponse__Output>
        ListProductsRequest: MessageTypeDefinition<_interchange_catalog_v1_ListProductsRequest, _interchange_catalog_v1_ListProductsRequest__Output>
        ListProductsResponse: MessageTypeDefinition<_interchange_catalog_v1_ListProductsResponse, _interchange_catalog_v1_ListProductsResponse__Output>
        Product: MessageTypeDefinition<_interchange_catalog_v1_Product, _interchange_catalog_v1_Product__Output>
      }
    }
  }
}

