import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, status, type requestCallback, type ServiceError } from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { loadProto } from '../../lib/proto.ts';
import type { ProtoGrpcType } from '../../schema/generated/catalog.ts';
import type { CatalogClient } from '../../schema/generated/interchange/catalog/v1/Catalog.ts';
import type { GetProductsResponse__Output } from '../../schema/generated/interchange/catalog/v1/GetProductsResponse.ts';
import type { ListProductsResponse__Output } from '../../schema/generated/interchange/catalog/v1/ListProductsResponse.ts';
import { generateProducts } from './data.ts';
import { bindInsecure, shutdownGracefully } from './grpc-server.ts';
import { waitFor } from '../../test/support/wait.ts';
import { createCatalogServer, type CatalogServerDeps } from './server.ts';

const catalog = loadProto<ProtoGrpcType>('catalog.proto').interchange.catalog.v1;
const products = generateProducts();

/** The catalog server on 127.0.0.1:0 and a real client of the same proto. */
async function startCatalog(deps: Partial<CatalogServerDeps> = {}) {
  const { server, registry } = createCatalogServer({ products, ...deps });
  const port = await bindInsecure(server, '127.0.0.1', 0);
  const client: CatalogClient = new catalog.Catalog(`127.0.0.1:${port}`, credentials.createInsecure());
  const close = async () => {
    client.close();
    await shutdownGracefully(server, 1_000);
  };
  return { client, registry, close };
}

/** Runs one unary call with a deadline (5 s unless given) and resolves with its answer. */
function call<Res>(start: (options: { deadline: number }, callback: requestCallback<Res>) => void, deadlineMs = 5_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    start({ deadline: Date.now() + deadlineMs }, (err, value) => (err ? reject(err) : resolve(value as Res)));
  });
}

/** Asserts that `promise` fails with gRPC status `code` and details matching `details`. */
async function expectStatus(promise: Promise<unknown>, code: status, details: RegExp): Promise<void> {
  await assert.rejects(promise, (err: ServiceError) => {
    assert.equal(status[err.code], status[code], err.details);
    assert.match(err.details, details);
    return true;
  });
}

describe('catalog data', () => {
  test('generates the same 500 products, p1..p500 in id order, on every run', () => {
    assert.deepEqual(products, generateProducts());
    assert.deepEqual(
      products.map((p) => p.id),
      Array.from({ length: 500 }, (_, i) => `p${i + 1}`),
    );
  });

  test('keeps p1 as demos and other tests know it', () => {
    assert.deepEqual(products[0], { id: 'p1', name: 'Crisp Glass Notebook', priceCents: 33799, stock: 424 });
  });

  test('gives every product a unique name, a price from 199 to 49999 cents and 0 to 500 in stock', () => {
    assert.equal(new Set(products.map((p) => p.name)).size, products.length);
    for (const p of products) {
      assert.ok(Number.isInteger(p.priceCents) && p.priceCents >= 199 && p.priceCents <= 49_999, p.id);
      assert.ok(Number.isInteger(p.stock) && p.stock >= 0 && p.stock <= 500, p.id);
    }
    assert.ok(
      products.some((p) => p.stock === 0),
      'some products are out of stock',
    );
  });
});

describe('catalog gRPC service', () => {
  let svc: Awaited<ReturnType<typeof startCatalog>>;
  before(async () => {
    svc = await startCatalog();
  });
  after(() => svc?.close());

  test('GetProduct answers a product by id', async () => {
    const product = await call((o, cb) => svc.client.GetProduct({ id: 'p42' }, o, cb));
    assert.deepEqual(product, products[41]);
  });

  test('GetProduct answers NOT_FOUND, naming the id, for an unknown product', async () => {
    await expectStatus(
      call((o, cb) => svc.client.GetProduct({ id: 'p501' }, o, cb)),
      status.NOT_FOUND,
      /no product with id "p501"/,
    );
  });

  test('GetProduct answers INVALID_ARGUMENT for an empty id', async () => {
    await expectStatus(
      call((o, cb) => svc.client.GetProduct({}, o, cb)),
      status.INVALID_ARGUMENT,
      /id must not be empty/,
    );
  });

  test('GetProducts answers the known products and leaves unknown ids out', async () => {
    const { products: found } = await call<GetProductsResponse__Output>((o, cb) =>
      svc.client.GetProducts({ ids: ['p500', 'nope', 'p1', 'p0', 'p250', 'p1'] }, o, cb),
    );
    assert.deepEqual(found.map((p) => p.id).sort(), ['p1', 'p250', 'p500']);
    assert.deepEqual(
      found.find((p) => p.id === 'p250'),
      products[249],
    );
  });

  test('GetProducts answers no products for no ids', async () => {
    assert.deepEqual(await call((o, cb) => svc.client.GetProducts({ ids: [] }, o, cb)), { products: [] });
  });

  test('GetProducts accepts 1000 ids and answers INVALID_ARGUMENT for 1001', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `p${i + 1}`);
    const { products: found } = await call<GetProductsResponse__Output>((o, cb) => svc.client.GetProducts({ ids }, o, cb));
    assert.equal(found.length, 500);
    await expectStatus(
      call((o, cb) => svc.client.GetProducts({ ids: [...ids, 'p1001'] }, o, cb)),
      status.INVALID_ARGUMENT,
      /1001.*at most 1000/,
    );
  });

  test('ListProducts answers 20 products from p1 when page_size is 0', async () => {
    const page = await call<ListProductsResponse__Output>((o, cb) => svc.client.ListProducts({}, o, cb));
    assert.deepEqual(
      page.products.map((p) => p.id),
      Array.from({ length: 20 }, (_, i) => `p${i + 1}`),
    );
    assert.notEqual(page.nextPageToken, '');
  });

  for (const pageSize of [100, 7]) {
    test(`ListProducts walks all 500 products exactly once, in id order, ${pageSize} at a time`, async () => {
      const seen: string[] = [];
      let pageToken = '';
      let pages = 0;
      do {
        const page = await call<ListProductsResponse__Output>((o, cb) => svc.client.ListProducts({ pageSize, pageToken }, o, cb));
        assert.ok(page.products.length > 0 && page.products.length <= pageSize);
        seen.push(...page.products.map((p) => p.id));
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken !== '');
      assert.equal(pages, Math.ceil(500 / pageSize));
      assert.deepEqual(
        seen,
        products.map((p) => p.id),
      );
    });
  }

  for (const pageSize of [101, -1]) {
    test(`ListProducts answers INVALID_ARGUMENT for page_size ${pageSize}`, async () => {
      await expectStatus(
        call((o, cb) => svc.client.ListProducts({ pageSize }, o, cb)),
        status.INVALID_ARGUMENT,
        new RegExp(`page_size.*got ${pageSize}`),
      );
    });
  }

  test('ListProducts answers INVALID_ARGUMENT for a page_token it did not issue', async () => {
    for (const pageToken of ['garbage', Buffer.from('v1:p9999').toString('base64url')]) {
      await expectStatus(
        call((o, cb) => svc.client.ListProducts({ pageToken }, o, cb)),
        status.INVALID_ARGUMENT,
        /page_token/,
      );
    }
  });
});

/** `catalog_grpc_calls_total` samples, keyed `method code`. */
async function callCounts(registry: Registry): Promise<Map<string, number>> {
  const metric = registry.getSingleMetric('catalog_grpc_calls_total');
  assert.ok(metric, 'catalog_grpc_calls_total is registered');
  const { values } = await metric.get();
  return new Map(values.map((v) => [`${v.labels.method} ${v.labels.code}`, v.value]));
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);

describe('catalog_grpc_calls_total', () => {
  let svc: Awaited<ReturnType<typeof startCatalog>>;
  before(async () => {
    svc = await startCatalog();
  });
  after(() => svc?.close());

  const cases: [string, (s: typeof svc) => Promise<unknown>, string][] = [
    ['GetProduct p1', (s) => call((o, cb) => s.client.GetProduct({ id: 'p1' }, o, cb)), 'GetProduct OK'],
    ['GetProduct p0', (s) => call((o, cb) => s.client.GetProduct({ id: 'p0' }, o, cb)), 'GetProduct NOT_FOUND'],
    ['GetProduct ""', (s) => call((o, cb) => s.client.GetProduct({ id: '' }, o, cb)), 'GetProduct INVALID_ARGUMENT'],
    ['GetProducts', (s) => call((o, cb) => s.client.GetProducts({ ids: ['p1', 'x'] }, o, cb)), 'GetProducts OK'],
    ['ListProducts', (s) => call((o, cb) => s.client.ListProducts({ pageSize: 5 }, o, cb)), 'ListProducts OK'],
    ['ListProducts bad token', (s) => call((o, cb) => s.client.ListProducts({ pageToken: '!' }, o, cb)), 'ListProducts INVALID_ARGUMENT'],
  ];
  for (const [name, run, key] of cases) {
    test(`counts ${name} once as {method, code} = ${key}`, async () => {
      const before = await callCounts(svc.registry);
      await run(svc).catch(() => undefined);
      const after = await callCounts(svc.registry);
      assert.equal((after.get(key) ?? 0) - (before.get(key) ?? 0), 1, [...after].join('; '));
      assert.equal(total(after) - total(before), 1);
    });
  }
});

describe('response delay', () => {
  let svc: Awaited<ReturnType<typeof startCatalog>>;
  before(async () => {
    svc = await startCatalog({ responseDelayMs: 300 });
  });
  after(() => svc?.close());

  test('delays every answer by responseDelayMs', async () => {
    const started = performance.now();
    await call((o, cb) => svc.client.GetProduct({ id: 'p1' }, o, cb));
    assert.ok(performance.now() - started >= 290);
  });

  test('lets a caller time out, and counts the abandoned call as CANCELLED', async () => {
    const before = await callCounts(svc.registry);
    await expectStatus(
      call((o, cb) => svc.client.GetProduct({ id: 'p1' }, o, cb), 100),
      status.DEADLINE_EXCEEDED,
      /Deadline/i,
    );
    // The server counts the call once its delay is over and it finds the call cancelled.
    await waitFor(
      async () => ((await callCounts(svc.registry)).get('GetProduct CANCELLED') ?? 0) > (before.get('GetProduct CANCELLED') ?? 0),
      10_000,
      'the abandoned call was never counted as CANCELLED',
    );
    const after = await callCounts(svc.registry);
    assert.equal((after.get('GetProduct CANCELLED') ?? 0) - (before.get('GetProduct CANCELLED') ?? 0), 1);
    assert.equal(total(after) - total(before), 1);
  });
});
