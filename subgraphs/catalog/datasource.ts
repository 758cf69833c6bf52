/**
 * The gRPC catalog service (schema/proto/catalog.proto) as seen by the subgraph: one batched
 * `GetProducts` per request tick (up to 1000 ids a call) and the paged `ListProducts`.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import DataLoader from 'dataloader';
import { loadProto } from '../../lib/proto.ts';
import type { ProtoGrpcType } from '../../schema/generated/catalog.ts';
import type { CatalogClient } from '../../schema/generated/interchange/catalog/v1/Catalog.ts';
import type { GetProductsRequest } from '../../schema/generated/interchange/catalog/v1/GetProductsRequest.ts';
import type { GetProductsResponse__Output } from '../../schema/generated/interchange/catalog/v1/GetProductsResponse.ts';
import type { ListProductsRequest } from '../../schema/generated/interchange/catalog/v1/ListProductsRequest.ts';
import type { ListProductsResponse__Output } from '../../schema/generated/interchange/catalog/v1/ListProductsResponse.ts';
import type { Product__Output as Product } from '../../schema/generated/interchange/catalog/v1/Product.ts';
import { alignById } from '../kit/arguments.ts';
import { createGrpcCaller, type GrpcCaller } from '../kit/grpc.ts';
import type { ResilienceOptions } from '../kit/resilience.ts';

export type { Product };

/** `GetProducts` takes at most this many ids. */
const MAX_IDS_PER_CALL = 1000;

export class CatalogSource {
  readonly caller: GrpcCaller;
  private readonly client: CatalogClient;

  constructor(address: string, options: ResilienceOptions) {
    const proto = loadProto<ProtoGrpcType>('catalog.proto');
    this.client = new proto.interchange.catalog.v1.Catalog(address, credentials.createInsecure());
    this.caller = createGrpcCaller(this.client, options, () => new Metadata());
  }

  /** A per-request loader: every `load` in one tick becomes one `GetProducts` call. */
  createLoader(): DataLoader<string, Product | null> {
    return new DataLoader(
      async (ids) => {
        const response = await this.caller.unary<GetProductsRequest, GetProductsResponse__Output>(
          this.client.GetProducts,
          { ids: [...ids] },
          true,
        );
        return alignById(ids, response?.products ?? []);
      },
      { maxBatchSize: MAX_IDS_PER_CALL },
    );
  }

  /** The first `pageSize` products in id order: one `ListProducts` call. */
  async list(pageSize: number): Promise<Product[]> {
    const response = await this.caller.unary<ListProductsRequest, ListProductsResponse__Output>(
      this.client.ListProducts,
      { pageSize },
      true,
    );
    return response?.products ?? [];
  }

  close(): void {
    this.client.close();
  }
}
