import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { ErrorCode } from '../../lib/errors.ts';
import { loadProto } from '../../lib/proto.ts';
import type { ProtoGrpcType } from '../../schema/generated/catalog.ts';
import type { CatalogClient } from '../../schema/generated/interchange/catalog/v1/Catalog.ts';
import type { GetProductRequest } from '../../schema/generated/interchange/catalog/v1/GetProductRequest.ts';
import type { GetProductsRequest } from '../../schema/generated/interchange/catalog/v1/GetProductsRequest.ts';
import type { GetProductsResponse__Output } from '../../schema/generated/interchange/catalog/v1/GetProductsResponse.ts';
import type { Product__Output } from '../../schema/generated/interchange/catalog/v1/Product.ts';
import { generateProducts } from '../../services/catalog/data.ts';
import { bindInsecure, shutdownGracefully } from '../../services/catalog/grpc-server.ts';
import { createCatalogServer, type CatalogMethod } from '../../services/catalog/server.ts';
import { createGrpcCaller } from './grpc.ts';
import type { ResilienceOptions } from './resilience.ts';
import { rejectsWithFailure, type ExpectedFailure } from '../../test/support/upstream.ts';
import { refusingPort, type RefusingPort } from '../../test/support/ports.ts';
import { waitFor } from '../../test/support/wait.ts';

const catalog = loadProto<ProtoGrpcType>('catalog.proto').interchange.catalog.v1;
const products = generateProducts(20);
const upstream = 'catalog';

/** Tests about timeouts set their own timeoutMs. An open circuit stays open however slowly the test runs. */
const fast: ResilienceOptions = {
  upstream,
  timeoutMs: 10_000,
  maxConcurrent: 8,
  maxQueued: 8,
  retries: 2,
  breakerThreshold: 10,
  breakerCooldownMs: 120_000,
};

/** The real catalog service on 127.0.0.1:0, with its metrics registry. */
async function startCatalog(responseDelayMs = 0) {
  const { server, registry } = createCatalogServer({ products, responseDelayMs });
  const port = await bindInsecure(server, '127.0.0.1', 0);
  return { address: `127.0.0.1:${port}`, registry, stop: () => shutdownGracefully(server, 500) };
}

/** A client of `address` and a caller over it; `close` releases the channel. */
function connect(address: string, options: Partial<ResilienceOptions> = {}) {
  const client: CatalogClient = new catalog.Catalog(address, credentials.createInsecure());
  const caller = createGrpcCaller(client, { ...fast, ...options }, () => new Metadata());
  const getProduct = (id: string) => caller.unary<GetProductRequest, Product__Output>(client.GetProduct, { id }, true);
  const getProducts = (ids: string[]) => caller.unary<GetProductsRequest, GetProductsResponse__Output>(client.GetProducts, { ids }, true);
  return { caller, getProduct, getProducts, close: () => client.close() };
}

/** Calls of `method` the server answered with `code` (OK, NOT_FOUND, CANCELLED, ...). */
async function answered(registry: Registry, method: CatalogMethod, code: string): Promise<number> {
  const metric = await registry.getSingleMetric('catalog_grpc_calls_total')?.get();
  return metric?.values.find((v) => v.labels['method'] === method && v.labels['code'] === code)?.value ?? 0;
}

/** Asserts that `promise` rejects with an `UpstreamFailure` of exactly this shape. */
const rejectsWith = (promise: Promise<unknown>, expected: ExpectedFailure) => rejectsWithFailure(promise, upstream, expected);

describe('createGrpcCaller against the catalog service', () => {
  let service: Awaited<ReturnType<typeof startCatalog>>;
  let client: ReturnType<typeof connect>;

  before(async () => {
    service = await startCatalog();
    client = connect(service.address);
  });
  after(async () => {
    client?.close();
    await service?.stop();
  });

  test('GetProducts answers the known products', async () => {
    const response = await client.getProducts(['p2', 'p1', 'p999']);
    assert.deepEqual(
      response?.products.toSorted((a, b) => a.id.localeCompare(b.id)),
      [products[0], products[1]],
    );
  });

  test('GetProduct answers a product by id', async () => {
    assert.deepEqual(await client.getProduct('p7'), products[6]);
  });

  test('GetProduct of an unknown id resolves null, without retrying', async () => {
    const before = await answered(service.registry, 'GetProduct', 'NOT_FOUND');
    assert.equal(await client.getProduct('p999'), null);
    assert.equal(await answered(service.registry, 'GetProduct', 'NOT_FOUND'), before + 1);
  });

  test('INVALID_ARGUMENT fails with UPSTREAM_BAD_RESPONSE carrying the details, without retrying', async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `p${i + 1}`);
    const before = await answered(service.registry, 'GetProducts', 'INVALID_ARGUMENT');
    await rejectsWith(client.getProducts(ids), {
      code: ErrorCode.UPSTREAM_BAD_RESPONSE,
      message: 'catalog: INVALID_ARGUMENT: ids has 1001 entries; at most 1000 are allowed',
      retryable: false,
    });
    assert.equal(await answered(service.registry, 'GetProducts', 'INVALID_ARGUMENT'), before + 1);
  });

  test('INVALID_ARGUMENT does not count against the circuit breaker', async () => {
    const strict = connect(service.address, { breakerThreshold: 1 });
    try {
      await rejectsWith(strict.getProduct(''), {
        code: ErrorCode.UPSTREAM_BAD_RESPONSE,
        message: 'catalog: INVALID_ARGUMENT: id must not be empty',
        retryable: false,
      });
      assert.equal(strict.caller.policy.breakerState, 'Closed');
      assert.deepEqual(await strict.getProduct('p1'), products[0]);
    } finally {
      strict.close();
    }
  });
});

describe('createGrpcCaller against a slow catalog service', () => {
  let service: Awaited<ReturnType<typeof startCatalog>>;
  let client: ReturnType<typeof connect>;

  before(async () => {
    // The answer comes long after both attempts gave up, however slowly the machine runs.
    service = await startCatalog(5_000);
    client = connect(service.address, { timeoutMs: 1_000, retries: 1 });
  });
  after(async () => {
    client?.close();
    await service?.stop();
  });

  test('fails with UPSTREAM_TIMEOUT when the answer takes longer than timeoutMs, after retrying', async () => {
    await rejectsWith(client.getProduct('p1'), {
      code: ErrorCode.UPSTREAM_TIMEOUT,
      message: 'catalog did not answer within 1000 ms',
      retryable: true,
    });
    // Both attempts reach the server, which finds them cancelled once its delay is over.
    await waitFor(
      async () => (await answered(service.registry, 'GetProduct', 'CANCELLED')) >= 2,
      30_000,
      'the server never saw both attempts cancelled',
      100,
    );
    assert.equal(await answered(service.registry, 'GetProduct', 'CANCELLED'), 2);
    assert.equal(await answered(service.registry, 'GetProduct', 'OK'), 0);
  });
});

describe('createGrpcCaller when the catalog service is gone', () => {
  const closers: (() => void | Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  test('fails with UPSTREAM_UNAVAILABLE after the server has shut down', async () => {
    const service = await startCatalog();
    const client = connect(service.address, { retries: 1 });
    closers.push(client.close, service.stop);
    assert.deepEqual(await client.getProduct('p1'), products[0]);
    await service.stop();
    await rejectsWith(client.getProduct('p1'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: /^catalog: UNAVAILABLE: /,
      retryable: true,
    });
  });

  /** A port that refuses (resets) every connection, closed when the describe ends. */
  const refusing = async (): Promise<RefusingPort> => {
    const port = await refusingPort();
    closers.push(port.close);
    return port;
  };

  test('fails with UPSTREAM_UNAVAILABLE when the port refuses connections', async () => {
    const client = connect(`127.0.0.1:${(await refusing()).port}`, { retries: 1 });
    closers.push(client.close);
    await rejectsWith(client.getProduct('p1'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: /^catalog: UNAVAILABLE: /,
      retryable: true,
    });
  });

  test('opens the circuit breaker after breakerThreshold UNAVAILABLE attempts', async () => {
    const client = connect(`127.0.0.1:${(await refusing()).port}`, { retries: 1, breakerThreshold: 2 });
    closers.push(client.close);
    await rejectsWith(client.getProduct('p1'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: /^catalog: UNAVAILABLE: /,
      retryable: true,
    });
    assert.equal(client.caller.policy.breakerState, 'Open');
    await rejectsWith(client.getProduct('p1'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: 'catalog is failing; calls are paused (circuit open)',
      retryable: false,
    });
  });
});
