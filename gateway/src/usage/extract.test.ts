/** What an operation uses of the schema: fields and arguments as coordinates, through fragments, without aliases. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSchema, parse } from 'graphql';
import { UsageExtractor, operationUsage } from './extract.ts';

const schema = buildSchema(`
  type Query { customer(id: ID!): Customer  search(term: String, first: Int = 10): [Result!]!  node(id: ID!): Node }
  interface Node { id: ID! }
  type Customer implements Node { id: ID!  name: String!  orders(status: Status, first: Int): [Order!] }
  type Order implements Node { id: ID!  total: Int! }
  union Result = Customer | Order
  enum Status { OPEN CLOSED }
  type Mutation { rename(id: ID!, name: String!): Customer }
  type Subscription { orderEvents(customerId: ID): Order! }
`);

const usageOf = (query: string, operationName?: string) => operationUsage(schema, parse(query), operationName);

describe('operation usage', { timeout: 10_000 }, () => {
  test('names the fields selected through named fragments, inline fragments and abstract types, on the type each is selected on', () => {
    const usage = usageOf(`
      query Find { search(term: "a") { ...Hit }  node(id: "o1") { id ... on Order { total } } }
      fragment Hit on Result { ... on Customer { ...Name }  ... on Order { id } }
      fragment Name on Customer { name }
    `);
    assert.deepEqual(usage?.fields, ['Customer.name', 'Node.id', 'Order.id', 'Order.total', 'Query.node', 'Query.search']);
    assert.equal(usage?.name, 'Find');
    assert.equal(usage?.type, 'query');
  });

  test('ignores aliases: a field selected under two aliases is one coordinate', () => {
    const usage = usageOf('{ first: customer(id: "c1") { a: name b: name }  second: customer(id: "c2") { name } }');
    assert.deepEqual(usage?.fields, ['Customer.name', 'Query.customer']);
    assert.deepEqual(usage?.arguments, ['Query.customer(id:)']);
    assert.equal(usage?.name, null);
  });

  test('names the arguments passed as literals and as variables, and not those left out', () => {
    const usage = usageOf(`
      query Orders($id: ID!, $status: Status) { customer(id: $id) { orders(status: $status) { id } } search { __typename } }
    `);
    assert.deepEqual(usage?.arguments, ['Customer.orders(status:)', 'Query.customer(id:)']);
    assert.deepEqual(usage?.fields, ['Customer.orders', 'Order.id', 'Query.customer', 'Query.search']);
  });

  test('counts neither introspection nor directive arguments', () => {
    const usage = usageOf('query Q($skip: Boolean!) { __typename customer(id: "c1") @skip(if: $skip) { __typename name } }');
    assert.deepEqual(usage?.fields, ['Customer.name', 'Query.customer']);
    assert.deepEqual(usage?.arguments, ['Query.customer(id:)']);
    assert.equal(usageOf('{ __schema { types { name } } }'), undefined);
  });

  test('takes only the operation asked for and the fragments it reaches', () => {
    const document = `
      query A { customer(id: "c1") { ...Used } }
      mutation B { rename(id: "c1", name: "x") { id } }
      subscription C { orderEvents { total } }
      fragment Used on Customer { name }
      fragment Unused on Order { total }
    `;
    assert.deepEqual(usageOf(document, 'A')?.fields, ['Customer.name', 'Query.customer']);
    const mutation = usageOf(document, 'B');
    assert.deepEqual(
      [mutation?.type, mutation?.fields, mutation?.arguments],
      ['mutation', ['Customer.id', 'Mutation.rename'], ['Mutation.rename(id:)', 'Mutation.rename(name:)']],
    );
    assert.deepEqual(usageOf(document, 'C')?.fields, ['Order.total', 'Subscription.orderEvents']);
    assert.equal(usageOf(document, 'D'), undefined);
  });

  test('hashes the normalized operation with its name: layout and unused definitions do not change it, the name does', () => {
    const a = usageOf('query A { customer(id: "c1") { name } }');
    const spaced = usageOf('query   A {\n  customer(id: "c1") {\n    name\n  }\n}\nfragment Unused on Order { total }', 'A');
    const renamed = usageOf('query B { customer(id: "c1") { name } }');
    assert.match(a!.hash, /^[0-9a-f]{64}$/);
    assert.equal(spaced?.hash, a?.hash);
    assert.notEqual(renamed?.hash, a?.hash);
  });

  test('the extractor works an operation out once per document and schema', () => {
    const extractor = new UsageExtractor();
    const document = parse('{ customer(id: "c1") { name } }');
    const first = extractor.usage(schema, document);
    assert.equal(extractor.usage(schema, document), first);
    const reloaded = buildSchema('type Query { customer(id: ID!): Customer } type Customer { name: String }');
    const again = extractor.usage(reloaded, document);
    assert.notEqual(again, first);
    assert.deepEqual(again, first);
  });
});
