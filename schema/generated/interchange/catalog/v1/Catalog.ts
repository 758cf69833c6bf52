// Original file: schema/proto/catalog.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetProductRequest as _interchange_catalog_v1_GetProductRequest, GetProductRequest__Output as _interchange_catalog_v1_GetProductRequest__Output } from '../../../interchange/catalog/v1/GetProductRequest.ts';
import type { GetProductsRequest as _interchange_catalog_v1_GetProductsRequest, GetProductsRequest__Output as _interchange_catalog_v1_GetProductsRequest__Output } from '../../../interchange/catalog/v1/GetProductsRequest.ts';
import type { GetProductsResponse as _interchange_catalog_v1_GetProductsResponse, GetProductsResponse__Output as _interchange_catalog_v1_GetProductsResponse__Output } from '../../../interchange/catalog/v1/GetProductsResponse.ts';
import type { ListProductsRequest as _interchange_catalog_v1_ListProductsRequest, ListProductsRequest__Output as _interchange_catalog_v1_ListProductsRequest__Output } from '../../../interchange/catalog/v1/ListProductsRequest.ts';
import type { ListProductsResponse as _interchange_catalog_v1_ListProductsResponse, ListProductsResponse__Output as _interchange_catalog_v1_ListProductsResponse__Output } from '../../../interchange/catalog/v1/ListProductsResponse.ts';
import type { Product as _interchange_catalog_v1_Product, Product__Output as _interchange_catalog_v1_Product__Output } from '../../../interchange/catalog/v1/Product.ts';

export interface CatalogClient extends grpc.Client {
  GetProduct(argument: _interchange_catalog_v1_GetProductRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_Product__Output>): grpc.ClientUnaryCall;
  GetProduct(argument: _interchange_catalog_v1_GetProductRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_interchange_catalog_v1_Product__Output>): grpc.ClientUnaryCall;
  GetProduct(argument: _interchange_catalog_v1_GetProductRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_Product__Output>): grpc.ClientUnaryCall;
  GetProduct(argument: _interchange_catalog_v1_GetProductRequest, callback: grpc.requestCallback<_interchange_catalog_v1_Product__Output>): grpc.ClientUnaryCall;
  getProduct(argument: _interchange_catalog_v1_GetProductRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_Product__Output>): grpc.ClientUnaryCall;
  getProduct(argument: _interchange_catalog_v1_GetProductRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_interchange_catalog_v1_Product__Output>): grpc.ClientUnaryCall;
  getProduct(argument: _interchange_catalog_v1_GetProductRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_Product__Output>): grpc.ClientUnaryCall;
  getProduct(argument: _interchange_catalog_v1_GetProductRequest, callback: grpc.requestCallback<_interchange_catalog_v1_Product__Output>): grpc.ClientUnaryCall;
  
  GetProducts(argument: _interchange_catalog_v1_GetProductsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_GetProductsResponse__Output>): grpc.ClientUnaryCall;
  GetProducts(argument: _interchange_catalog_v1_GetProductsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_interchange_catalog_v1_GetProductsResponse__Output>): grpc.ClientUnaryCall;
  GetProducts(argument: _interchange_catalog_v1_GetProductsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_GetProductsResponse__Output>): grpc.ClientUnaryCall;
  GetProducts(argument: _interchange_catalog_v1_GetProductsRequest, callback: grpc.requestCallback<_interchange_catalog_v1_GetProductsResponse__Output>): grpc.ClientUnaryCall;
  getProducts(argument: _interchange_catalog_v1_GetProductsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_GetProductsResponse__Output>): grpc.ClientUnaryCall;
  getProducts(argument: _interchange_catalog_v1_GetProductsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_interchange_catalog_v1_GetProductsResponse__Output>): grpc.ClientUnaryCall;
  getProducts(argument: _interchange_catalog_v1_GetProductsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_GetProductsResponse__Output>): grpc.ClientUnaryCall;
  getProducts(argument: _interchange_catalog_v1_GetProductsRequest, callback: grpc.requestCallback<_interchange_catalog_v1_GetProductsResponse__Output>): grpc.ClientUnaryCall;
  
  ListProducts(argument: _interchange_catalog_v1_ListProductsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_ListProductsResponse__Output>): grpc.ClientUnaryCall;
  ListProducts(argument: _interchange_catalog_v1_ListProductsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_interchange_catalog_v1_ListProductsResponse__Output>): grpc.ClientUnaryCall;
  ListProducts(argument: _interchange_catalog_v1_ListProductsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_ListProductsResponse__Output>): grpc.ClientUnaryCall;
  ListProducts(argument: _interchange_catalog_v1_ListProductsRequest, callback: grpc.requestCallback<_interchange_catalog_v1_ListProductsResponse__Output>): grpc.ClientUnaryCall;
  listProducts(argument: _interchange_catalog_v1_ListProductsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_ListProductsResponse__Output>): grpc.ClientUnaryCall;
  listProducts(argument: _interchange_catalog_v1_ListProductsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_interchange_catalog_v1_ListProductsResponse__Output>): grpc.ClientUnaryCall;
  listProducts(argument: _interchange_catalog_v1_ListProductsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_interchange_catalog_v1_ListProductsResponse__Output>): grpc.ClientUnaryCall;
  listProducts(argument: _interchange_catalog_v1_ListProductsRequest, callback: grpc.requestCallback<_interchange_catalog_v1_ListProductsResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface CatalogHandlers extends grpc.UntypedServiceImplementation {
  GetProduct: grpc.handleUnaryCall<_interchange_catalog_v1_GetProductRequest__Output, _interchange_catalog_v1_Product>;
  
  GetProducts: grpc.handleUnaryCall<_interchange_catalog_v1_GetProductsRequest__Output, _interchange_catalog_v1_GetProductsResponse>;
  
  ListProducts: grpc.handleUnaryCall<_interchange_catalog_v1_ListProductsRequest__Output, _interchange_catalog_v1_ListProductsResponse>;
  
}

export interface CatalogDefinition extends grpc.ServiceDefinition {
  GetProduct: MethodDefinition<_interchange_catalog_v1_GetProductRequest, _interchange_catalog_v1_Product, _interchange_catalog_v1_GetProductRequest__Output, _interchange_catalog_v1_Product__Output>
  GetProducts: MethodDefinition<_interchange_catalog_v1_GetProductsRequest, _interchange_catalog_v1_GetProductsResponse, _interchange_catalog_v1_GetProductsRequest__Output, _interchange_catalog_v1_GetProductsResponse__Output>
  ListProducts: MethodDefinition<_interchange_catalog_v1_ListProductsRequest, _interchange_catalog_v1_ListProductsResponse, _interchange_catalog_v1_ListProductsRequest__Output, _interchange_catalog_v1_ListProductsResponse__Output>
}
