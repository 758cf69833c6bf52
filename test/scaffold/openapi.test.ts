/** The OpenAPI reader: what it maps from small contracts into the scaffold's model, and what it refuses, with where. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ContractError } from '../../scripts/scaffold/model.ts';
import { readOpenApi } from '../../scripts/scaffold/openapi.ts';
import { contractFolder, fixtures } from './support.ts';

const review = {
  type: 'object',
  required: ['id', 'productId'],
  properties: { id: { type: 'string' }, productId: { type: 'string' }, rating: { type: 'integer' } },
};
const json = (schema: unknown) => ({ '200': { description: 'ok', content: { 'application/json': { schema } } } });
const contract = (paths: Record<string, unknown>, schemas: Record<string, unknown> = { Review: review }) => ({
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  paths,
  components: { schemas },
});
const byId = {
  get: {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    responses: json({ $ref: '#/components/schemas/Review' }),
  },
};
const list = (parameters: unknown[] = []) => ({
  get: { parameters, responses: json({ type: 'array', items: { $ref: '#/components/schemas/Review' } }) },
});

describe('the OpenAPI reader', { timeout: 30_000 }, () => {
  const contracts = contractFolder('interchange-openapi-');
  after(contracts.remove);
  /** Reads a contract written as reviews.yaml (JSON is YAML). */
  const read = async (document: unknown) => readOpenApi(await contracts.write('reviews.yaml', JSON.stringify(document)), 'reviews');
  const refuses = async (document: unknown, message: string) => {
    await assert.rejects(read(document), (err: Error) => {
      assert.ok(err instanceof ContractError, String(err));
      assert.equal(err.message, message);
      return true;
    });
  };

  test('maps the fixture: a read by id, a batch read, a list, a relation to Product, an enum and a nested object', async () => {
    const model = await readOpenApi(join(fixtures, 'reviews.yaml'), 'reviews');
    assert.equal(model.serverUrl, 'http://127.0.0.1:4301');
    assert.deepEqual(model.entities, [
      {
        name: 'Review',
        rootOne: 'review',
        rootList: 'reviews',
        batch: {
          operation: '/reviews',
          label: 'GET /reviews',
          unwrap: 'items',
          input: { name: 'ids', in: 'query', list: 'comma' },
          maxBatch: 50,
        },
        list: { operation: '/reviews', label: 'GET /reviews', unwrap: 'items', limit: { name: 'limit', in: 'query' } },
        byId: {
          operation: '/reviews/{reviewId}',
          label: 'GET /reviews/{reviewId}',
          unwrap: undefined,
          input: { name: 'reviewId', in: 'path' },
        },
      },
    ]);
    assert.deepEqual(
      model.relations.map((r) => [r.owner, r.field, r.entity, r.read.label, r.read.input]),
      [['Product', 'reviews', 'Review', 'GET /products/{productId}/reviews', { name: 'productId', in: 'path' }]],
    );
    assert.deepEqual(model.stubs, ['Product']);
    const reviewType = model.objects.find((o) => o.name === 'Review')!;
    assert.deepEqual(reviewType.references, [{ field: 'product', idField: 'productId', entity: 'Product', list: false, nullable: false }]);
    assert.deepEqual(
      reviewType.fields.map((f) => `${f.name}: ${f.type.list ? `[${f.type.name}]` : f.type.name}${f.type.nullable ? '' : '!'}`),
      [
        'id: ID!',
        'productId: ID!',
        'rating: Int!',
        'title: String',
        'body: String',
        'status: ReviewStatus!',
        'helpfulVotes: Int',
        'author: ReviewAuthor',
        'tags: [String]',
      ],
    );
    assert.deepEqual(model.enums, [
      {
        name: 'ReviewStatus',
        values: [
          { name: 'PUBLISHED', value: 'published' },
          { name: 'IN_REVIEW', value: 'in-review' },
          { name: 'HIDDEN', value: 'hidden' },
        ],
      },
    ]);
    assert.deepEqual(model.skipped, ['POST /reviews: only reads (GET) are mapped', 'GET /healthz: no JSON answer']);
  });

  test('a list filtered by a productId query parameter gives Product.reviews; ids as a repeated parameter', async () => {
    const model = await read(
      contract({
        '/reviews/{id}': byId,
        '/reviews': list([
          { name: 'productId', in: 'query', schema: { type: 'string' } },
          { name: 'ids', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
        ]),
      }),
    );
    assert.deepEqual(model.entities[0]!.batch?.input, { name: 'ids', in: 'query', list: 'repeat' });
    assert.deepEqual(
      model.relations.map((r) => [r.owner, r.field, r.read.input]),
      [['Product', 'reviews', { name: 'productId', in: 'query' }]],
    );
  });

  test('without a batch read the entity is read by id alone (the loader calls concurrently)', async () => {
    const model = await read(contract({ '/reviews/{id}': byId }));
    assert.equal(model.entities[0]!.batch, undefined);
    assert.equal(model.entities[0]!.byId?.label, 'GET /reviews/{id}');
  });

  test('refuses oneOf in an answer, naming the operation and answer', async () => {
    await refuses(
      contract({ '/reviews': { get: { responses: json({ oneOf: [{ $ref: '#/components/schemas/Review' }, { type: 'string' }] }) } } }),
      'reviews.yaml: paths./reviews.get.responses.200: oneOf is not supported',
    );
  });

  test('refuses anyOf in a property of a schema, naming the component and property', async () => {
    const withAnyOf = { ...review, properties: { ...review.properties, x: { anyOf: [{ type: 'string' }, { type: 'integer' }] } } };
    await refuses(
      contract({ '/reviews/{id}': byId }, { Review: withAnyOf }),
      'reviews.yaml: components.schemas.Review.properties.x: anyOf is not supported',
    );
  });

  test('refuses maps, lists of lists, external references and names GraphQL cannot carry', async () => {
    const withProperty = (x: unknown) =>
      contract({ '/reviews/{id}': byId }, { Review: { ...review, properties: { ...review.properties, x } } });
    await refuses(
      withProperty({ type: 'object', additionalProperties: { type: 'integer' } }),
      'reviews.yaml: components.schemas.Review.properties.x: additionalProperties (a map) is not supported',
    );
    await refuses(
      withProperty({ type: 'array', items: { type: 'array', items: { type: 'string' } } }),
      'reviews.yaml: components.schemas.Review.properties.x.items: a list of lists is not supported',
    );
    await refuses(
      withProperty({ $ref: 'other.yaml#/components/schemas/X' }),
      'reviews.yaml: components.schemas.Review.properties.x: $ref other.yaml#/components/schemas/X is not supported (only references within the file are)',
    );
    await refuses(
      withProperty({ type: 'string', enum: ['ok', '1st'] }),
      'reviews.yaml: components.schemas.Review.properties.x: enum value "1st" has no GraphQL name',
    );
    await refuses(
      contract({ '/reviews/{id}': byId }, { Review: { ...review, properties: { ...review.properties, 'x-y': { type: 'string' } } } }),
      "reviews.yaml: components.schemas.Review.properties.x-y: 'x-y' is not a GraphQL field name",
    );
  });

  test('refuses a schema whose type name GraphQL reserves', async () => {
    await refuses(
      contract({ '/reviews/{id}': { get: { responses: json({ $ref: '#/components/schemas/Query' }) } } }, { Query: review }),
      "reviews.yaml: components.schemas.Query: type name 'Query' is reserved",
    );
  });

  test('refuses Swagger 2.0, and a contract with no read it can map', async () => {
    await refuses({ swagger: '2.0', paths: {} }, 'reviews.yaml: openapi: version 2.0 is not supported (OpenAPI 3.x is)');
    await assert.rejects(
      read(contract({ '/reviews': { post: { responses: {} } }, '/healthz': { get: { responses: { '200': { description: 'up' } } } } })),
      /^ContractError: reviews\.yaml: no read operation it can map .*; left out: POST \/reviews: only reads \(GET\) are mapped; GET \/healthz: no JSON answer$/,
    );
  });
});
