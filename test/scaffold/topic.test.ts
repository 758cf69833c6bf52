/** The event-schema reader (--from-topic): what it maps from a folder of schemas, and what it refuses, with the file and JSON pointer. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ContractError } from '../../scripts/scaffold/model.ts';
import { readRegistry, registryPath } from '../../scripts/registry.ts';
import { keyedEntities } from '../../scripts/scaffold/registry.ts';
import { readTopic, writeTopicIndex, writeTopicResolvers, writeTopicSdl, writeTopicTest } from '../../scripts/scaffold/topic.ts';
import { fixtures } from './support.ts';

/** One event type's schema: `type` const, `eventId`, the `sku` key, and `properties` besides. */
const event = (type: string, properties: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
  type: 'object',
  required: ['type', 'eventId', 'sku'],
  properties: {
    type: { const: type },
    eventId: { type: 'string' },
    sku: { type: 'string', 'x-key': true },
    ...properties,
  },
  ...top,
});

describe('the event-schema reader', { timeout: 30_000 }, () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
  /** A folder with these schemas, by file name. */
  async function folder(files: Record<string, unknown>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'interchange-topic-'));
    dirs.push(dir);
    await mkdir(dir, { recursive: true });
    for (const [file, schema] of Object.entries(files))
      await writeFile(join(dir, file), typeof schema === 'string' ? schema : JSON.stringify(schema));
    return dir;
  }
  const refuses = async (files: Record<string, unknown>, message: string) => {
    const dir = await folder(files);
    assert.throws(
      () => readTopic(dir, 'stock', 'stock.events'),
      (err: Error) => {
        assert.ok(err instanceof ContractError, String(err));
        assert.equal(err.message, message);
        return true;
      },
    );
  };

  test('maps the fixture: the entity keyed by sku, its fields merged over the event types, nested objects and lists', () => {
    const model = readTopic(join(fixtures, 'inventory-events'), 'inventory', 'inventory.events');
    assert.equal(model.entity, 'StockLevel');
    assert.deepEqual(
      [model.rootOne, model.rootList, model.subscription, model.eventType],
      ['stockLevel', 'stockLevels', 'stockLevelEvents', 'StockLevelEvent'],
    );
    assert.deepEqual([model.contract.key, model.contract.id, model.contract.occurredAt], ['sku', 'eventId', true]);
    assert.deepEqual(
      model.contract.types.map((t) => [t.type, t.file]),
      [
        ['StockAdjusted', 'stock-adjusted.json'],
        ['StockReceived', 'stock-received.json'],
      ],
    );
    assert.deepEqual(Object.fromEntries(model.types), {
      'StockLevel.sku': 'ID!',
      'StockLevel.quantity': 'Int!',
      'StockLevel.reason': 'String',
      'StockLevel.productId': 'String',
      'StockLevel.location': 'StockLevelLocation',
      'StockLevelLocation.aisle': 'String!',
      'StockLevelLocation.shelf': 'Float',
      'StockLevel.tags': '[String!]',
      'StockLevel.occurredAt': 'String',
      'StockLevel.warehouse': 'String',
    });
    const sdl = writeTopicSdl(model, 'schema/events/inventory/');
    assert.match(sdl, /type StockLevel @key\(fields: "sku"\) \{\n {2}"The stock keeping unit."\n {2}sku: ID!\n/);
    assert.match(sdl, /stockLevelEvents\(\n(.*\n)* {2}\): StockLevelEvent! @resumable\(position: "cursor", argument: "after"\)/);
    assert.match(sdl, /stockLevels\(first: Int = 20, after: ID\): \[StockLevel!\]!/);
  });

  test("reads the supergraph's entities keyed by id from the registry's subgraphs, with their fields", async () => {
    const entities = await keyedEntities(await readRegistry(registryPath));
    assert.ok(entities.get('Product')?.has('name'), 'the catalog subgraph’s Product');
    assert.ok(entities.has('Customer') && entities.has('Order'));
  });

  test('a productId naming an existing entity gives StockLevel.product and Product.stockLevels, from an index by productId', () => {
    const model = readTopic(
      join(fixtures, 'inventory-events'),
      'inventory',
      'inventory.events',
      new Map([['Product', new Set(['id', 'name'])]]),
    );
    assert.deepEqual(model.references, [{ field: 'product', idField: 'productId', entity: 'Product', list: false, nullable: true }]);
    assert.deepEqual(model.relations, [{ owner: 'Product', field: 'stockLevels', property: 'productId' }]);
    assert.deepEqual([model.stubs, model.skipped], [['Product'], []]);
    const sdl = writeTopicSdl(model, 'schema/events/inventory/');
    assert.match(sdl, /\n {2}productId: String\n(.*\n)* {2}"The Product of `productId`."\n {2}product: Product\n\}/);
    assert.match(sdl, /\ntype Product @key\(fields: "id"\) \{\n {2}id: ID!\n {2}".*"\n {2}stockLevels: \[StockLevel!\]!\n\}\n/);
    const resolvers = writeTopicResolvers(model);
    assert.match(resolvers, /product: \(\{ productId: id \}: TopicEntity\) => \(id \? \(\{ __typename: "Product", id \}\) : null\),/);
    assert.match(
      resolvers,
      /Product: \{\n.*\n {4}__resolveReference: \(ref: \{ id: string \}\) => ref,\n {4}stockLevels: .*ctx\.projection\.listedBy\("productId", parent\.id\),/,
    );
    assert.match(writeTopicIndex(model), /indexes: \["productId"\],/);
  });

  test('an <x>Id naming no existing entity stays a plain field; a relation whose name the entity has already is left out', async () => {
    const dir = await folder({
      'a.json': event(
        'A',
        { fooId: { type: 'string' }, productId: { type: 'string' }, customerId: { type: 'integer' } },
        { 'x-entity': 'Parcel' },
      ),
    });
    const existing = new Map([
      ['Product', new Set(['id', 'parcels'])],
      ['Customer', new Set(['id'])],
    ]);
    const model = readTopic(dir, 'parcels', 'p', existing);
    assert.deepEqual(
      model.references.map((r) => `${r.idField} -> ${r.field}: ${r.entity}`),
      ['productId -> product: Product'],
      'fooId names no entity; customerId is not a string',
    );
    assert.deepEqual(model.relations, []);
    assert.deepEqual(model.skipped, ["productId: Product has a field 'parcels' already: no relation from Product"]);
    const sdl = writeTopicSdl(model, 'x/');
    assert.match(sdl, /\n {2}fooId: String\n/);
    assert.doesNotMatch(sdl, /foo: |type Foo|type Customer/);
    assert.match(sdl, /\ntype Product @key\(fields: "id"\) \{\n {2}id: ID!\n\}\n/);
    assert.doesNotMatch(writeTopicIndex(model), /indexes/);
    assert.deepEqual(readTopic(dir, 'parcels', 'p').references, [], 'nothing to join without the supergraph’s entities');
  });

  test('the entity is named after the subgraph when no schema says (x-entity)', async () => {
    const model = readTopic(await folder({ 'a.json': event('A'), 'b.json': event('B', { n: { type: 'number' } }) }), 'parcels', 'p');
    assert.equal(model.entity, 'Parcel');
    assert.equal(model.types.get('Parcel.n'), 'Float', 'a field only some events carry is nullable');
  });

  test('a field that allows null, or has an optional part, in any event type (the first read here) is nullable there on the entity', async () => {
    const place = (required: string[], aisle: unknown) => ({
      type: 'object',
      required,
      properties: { aisle, shelf: { type: 'integer', minimum: 0, maximum: 99 } },
    });
    const model = readTopic(
      await folder({
        'b.json': event(
          'B',
          {
            note: { type: 'string' },
            place: place(['aisle', 'shelf'], { type: 'string' }),
            labels: { type: 'array', items: { type: 'string' } },
          },
          { required: ['type', 'eventId', 'sku', 'note', 'place', 'labels'] },
        ),
        'a.json': event(
          'A',
          {
            note: { type: ['string', 'null'] },
            place: place(['shelf'], { type: ['string', 'null'] }),
            labels: { type: 'array', items: { type: ['string', 'null'] } },
          },
          { required: ['type', 'eventId', 'sku', 'note', 'place', 'labels'] },
        ),
      }),
      'parcels',
      'p',
    );
    assert.deepEqual(
      ['Parcel.note', 'Parcel.place', 'ParcelPlace.aisle', 'ParcelPlace.shelf', 'Parcel.labels'].map((field) => model.types.get(field)),
      ['String', 'ParcelPlace!', 'String', 'Int!', '[String]!'],
    );
  });

  test('an integer is an Int only when its bounds keep it within 32 bits, else a Float', async () => {
    const integer = (bounds: Record<string, number>) => ({ type: 'integer', ...bounds });
    const model = readTopic(
      await folder({
        'a.json': event('A', {
          bounded: integer({ minimum: -2_147_483_648, maximum: 2_147_483_647 }),
          exclusive: integer({ exclusiveMinimum: -1, exclusiveMaximum: 2_147_483_648 }),
          unbounded: integer({}),
          above: integer({ minimum: 0 }),
          beyond: integer({ minimum: 0, maximum: 2_147_483_648 }),
          narrowedElsewhere: integer({ minimum: 0 }),
        }),
        'b.json': event('B', { narrowedElsewhere: integer({ minimum: 0, maximum: 10 }) }),
      }),
      'parcels',
      'p',
    );
    assert.deepEqual(
      ['bounded', 'exclusive', 'unbounded', 'above', 'beyond', 'narrowedElsewhere'].map((field) => model.types.get(`Parcel.${field}`)),
      ['Int', 'Int', 'Float', 'Float', 'Float', 'Float'],
    );
  });

  test("the generated test quotes the schema's file name in its comment: no name can add a line of code", async () => {
    const file = 'a\nprocess.exit(1)\u2028process.exit(2);.json';
    const model = readTopic(await folder({ [file]: event('A') }), 'parcels', 'p');
    const lines = writeTopicTest(model).split(/\r\n|[\n\r\u2028\u2029]/);
    assert.deepEqual(
      lines.filter((line) => line.trimStart().startsWith('process.exit')),
      [],
    );
    assert.ok(lines.some((line) => line.includes('"a\\nprocess.exit(1)\\u2028process.exit(2);.json"')));
  });

  const refusals: [string, Record<string, unknown>, string][] = [
    [
      'no key field',
      { 'a.json': { ...event('A'), properties: { type: { const: 'A' }, eventId: { type: 'string' }, sku: { type: 'string' } } } },
      'a.json#/properties: no key field: mark the property that identifies the entity with `"x-key": true`',
    ],
    [
      'oneOf at the top of a schema',
      { 'a.json': event('A', {}, { oneOf: [{ required: ['x'] }] }) },
      'a.json#/oneOf: `oneOf` at the top of an event schema cannot be mapped: one schema per event type',
    ],
    [
      'anyOf in a property',
      { 'a.json': event('A', { size: { anyOf: [{ type: 'string' }, { type: 'integer' }] } }) },
      'a.json#/properties/size/anyOf: `anyOf` cannot be mapped to a GraphQL type',
    ],
    [
      'a $ref',
      { 'a.json': event('A', { box: { type: 'array', items: { $ref: '#/definitions/Box' } } }) },
      'a.json#/properties/box/items/$ref: `$ref` cannot be mapped to a GraphQL type',
    ],
    [
      'a free-form object',
      { 'a.json': event('A', { attributes: { type: 'object', additionalProperties: { type: 'string' } } }) },
      'a.json#/properties/attributes: a free-form object (no `properties`) cannot be mapped to a GraphQL type',
    ],
    [
      'a union of types',
      { 'a.json': event('A', { size: { type: ['string', 'integer'] } }) },
      'a.json#/properties/size/type: a union of types (string, integer) cannot be mapped',
    ],
    [
      'a field with two shapes',
      { 'a.json': event('A', { size: { type: 'string' } }), 'b.json': event('B', { size: { type: 'integer' } }) },
      'b.json#/properties/size: its shape differs from the one in a.json: a field has one type',
    ],
    [
      'no event id',
      {
        'a.json': {
          ...event('A'),
          properties: { type: { const: 'A' }, sku: { type: 'string', 'x-key': true } },
          required: ['type', 'sku'],
        },
      },
      'a.json#/properties: no event id: add a required `eventId` string, or mark one with `"x-event-id": true`',
    ],
    [
      'an event type that is not a name',
      { 'a.json': event('A\nprocess.exit(1)') },
      'a.json#/properties/type/const: event type "A\\nprocess.exit(1)" is not a name (letters, digits and _, not starting with a digit)',
    ],
    [
      'a nested object named like the event type',
      { 'a.json': event('A', { event: { type: 'object', properties: { at: { type: 'string' } } } }, { 'x-entity': 'Parcel' }) },
      'a.json#/properties/event: its object type would be ParcelEvent, the name of the event type: rename the property',
    ],
    [
      'two nested objects of one name',
      {
        'a.json': event(
          'A',
          {
            aB: { type: 'object', properties: { c: { type: 'string' } } },
            a: { type: 'object', properties: { b: { type: 'object', properties: { d: { type: 'string' } } } } },
          },
          { 'x-entity': 'Parcel' },
        ),
      },
      'a.json#/properties/a/properties/b: its object type would be ParcelAB, the name of the object type of aB: rename the property',
    ],
    [
      'an event type without a const',
      { 'a.json': event('A', { type: { type: 'string' } }) },
      'a.json#/properties/type: the event type must be the required property `type` with a `const` string',
    ],
    [
      'a property name GraphQL cannot take',
      { 'a.json': event('A', { 'unit-price': { type: 'number' } }) },
      "a.json#/properties/unit-price: 'unit-price' cannot be a GraphQL field name",
    ],
    [
      'another draft of JSON Schema',
      { 'a.json': event('A', {}, { $schema: 'https://json-schema.org/draft/2020-12/schema' }) },
      'a.json#/$schema: https://json-schema.org/draft/2020-12/schema is not supported: write draft-07 schemas',
    ],
    ['a file that is not JSON', { 'a.json': '{ nope' }, `a.json: not JSON: ${errorOf('{ nope')}`],
  ];
  for (const [what, files, message] of refusals)
    test(`refuses ${what}, naming the file and the JSON pointer`, () => refuses(files, message));

  test('refuses a folder without schemas, and a topic name Kafka cannot take', async () => {
    const empty = await folder({});
    assert.throws(() => readTopic(empty, 'stock', 'stock.events'), new RegExp(`${empty}: no event schema \\(\\*\\.json\\) in the folder`));
    assert.throws(
      () => readTopic(join(fixtures, 'inventory-events'), 'stock', 'stock events'),
      /--from-topic stock events: not a Kafka topic name/,
    );
  });
});

function errorOf(text: string): string {
  try {
    JSON.parse(text);
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}
