/**
 * The gRPC catalog service (`interchange.catalog.v1.Catalog`, schema/proto/catalog.proto) as an
 * unbound `@grpc/grpc-js` server. `main.ts` binds it; tests bind it on port 0 in-process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Server, status, type handleUnaryCall } from '@grpc/grpc-js';
import { Counter, Gauge, Registry } from 'prom-client';
import { createLogger, type Logger } from '../../lib/logger.ts';
import { loadProto } from '../../lib/proto.ts';
import type { ProtoGrpcType } from '../../schema/generated/catalog.ts';
import type { CatalogHandlers } from '../../schema/generated/interchange/catalog/v1/Catalog.ts';
import type { GetProductRequest__Output } from '../../schema/generated/interchange/catalog/v1/GetProductRequest.ts';
import type { GetProductsRequest__Output } from '../../schema/generated/interchange/catalog/v1/GetProductsRequest.ts';
import type { GetProductsResponse } from '../../schema/generated/interchange/catalog/v1/GetProductsResponse.ts';
import type { ListProductsRequest__Output } from '../../schema/generated/interchange/catalog/v1/ListProductsRequest.ts';
import type { ListProductsResponse } from '../../schema/generated/interchange/catalog/v1/ListProductsResponse.ts';
import type { Product } from '../../schema/generated/interchange/catalog/v1/Product.ts';
import { Collection, InvalidCursorError } from '../collection.ts';
import { processName } from './config.ts';
import type { CatalogProduct } from './data.ts';

const catalog = loadProto<ProtoGrpcType>('catalog.proto').interchange.catalog.v1;

/** The `method` label of `catalog_grpc_calls_total`. */
export type CatalogMethod = 'GetProduct' | 'GetProducts' | 'ListProducts';

export interface CatalogServerDeps {
  /** The products to serve, in the order pages list them (id order), with unique ids. */
  products: readonly CatalogProduct[];
  /** Where the server registers its metrics. Default: a new `Registry`. */
  registry?: Registry;
  /** Wait this long before answering every call, ms. Default 0. */
  responseDelayMs?: number;
  /** Default: silent. */
  log?: Logger;
}

export interface CatalogServer {
  /** Not yet bound: see `bindInsecure` in ./grpc-server.ts. */
  server: Server;
  registry: Registry;
}

export const maxGetProductsIds = 1000;
export const defaultPageSize = 20;
export const maxPageSize = 100;

/** A call answered with a non-OK status and a message for the caller. */
class RpcError extends Error {
  readonly code: status;

  constructor(code: status, message: string) {
    super(message);
    this.code = code;
  }
}

export function createCatalogServer(deps: CatalogServerDeps): CatalogServer {
  const products = new Collection(deps.products);
  const registry = deps.registry ?? new Registry();
  const log = deps.log ?? createLogger(processName, 'silent');
  const delayMs = deps.responseDelayMs ?? 0;

  const calls = new Counter({
    name: 'catalog_grpc_calls_total',
    help: 'Catalog gRPC calls answered, by method and gRPC status code name.',
    labelNames: ['method', 'code'] as const,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'catalog_grpc_calls_in_flight',
    help: 'Catalog gRPC calls received and not yet answered.',
    registers: [registry],
  });

  /**
   * A unary handler around `answer`: applies the delay, turns a thrown `RpcError` into its status
   * (anything else into INTERNAL), and counts the outcome before the answer is sent.
   */
  function unary<Req, Res>(method: CatalogMethod, answer: (request: Req) => Res): handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const respond = async () => {
        inFlight.inc();
        try {
          await answerCall();
        } finally {
          inFlight.dec();
        }
      };
      const answerCall = async () => {
        if (delayMs > 0) await sleep(delayMs);
        // Cancelled by the client or by its deadline while we waited: nobody is listening.
        if (call.cancelled) return calls.inc({ method, code: status[status.CANCELLED] });
        let result: Res;
        try {
          result = answer(call.request);
        } catch (err) {
          if (!(err instanceof RpcError)) log.error({ err, method }, 'call failed');
          const code = err instanceof RpcError ? err.code : status.INTERNAL;
          calls.inc({ method, code: status[code] });
          return callback({ code, details: err instanceof RpcError ? err.message : 'internal error' });
        }
        calls.inc({ method, code: status[status.OK] });
        callback(null, result);
      };
      void respond();
    };
  }

  const handlers: CatalogHandlers = {
    GetProduct: unary('GetProduct', ({ id }: GetProductRequest__Output): Product => {
      if (id === '') throw new RpcError(status.INVALID_ARGUMENT, 'id must not be empty');
      const product = products.get(id);
      if (!product) throw new RpcError(status.NOT_FOUND, `no product with id ${JSON.stringify(id)}`);
      return product;
    }),

    // Unknown ids are left out; duplicates are answered once.
    GetProducts: unary('GetProducts', ({ ids }: GetProductsRequest__Output): GetProductsResponse => {
      if (ids.length > maxGetProductsIds) {
        throw new RpcError(status.INVALID_ARGUMENT, `ids has ${ids.length} entries; at most ${maxGetProductsIds} are allowed`);
      }
      return { products: products.getMany(ids) };
    }),

    ListProducts: unary('ListProducts', ({ pageSize, pageToken }: ListProductsRequest__Output): ListProductsResponse => {
      if (pageSize < 0 || pageSize > maxPageSize) {
        throw new RpcError(
          status.INVALID_ARGUMENT,
          `page_size must be from 1 to ${maxPageSize}, or 0 for ${defaultPageSize} (got ${pageSize})`,
        );
      }
      try {
        const page = products.page(pageSize || defaultPageSize, pageToken === '' ? undefined : pageToken);
        return { products: page.items, nextPageToken: page.nextCursor ?? '' };
      } catch (err) {
        if (!(err instanceof InvalidCursorError)) throw err;
        throw new RpcError(status.INVALID_ARGUMENT, 'page_token must be the next_page_token of a previous ListProducts response');
      }
    }),
  };

  const server = new Server();
  server.addService(catalog.Catalog.service, handlers);
  return { server, registry };
}
