/** Which served operations a schema change touches, from the fields and arguments each used. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSchema } from 'graphql';
import type { ServedOperation } from '../../gateway/src/usage/record.ts';
import { schemaChanges } from './schema-changes.ts';
import { footprints, operationsAffected } from './usage-impact.ts';

const before = buildSchema(`
  type Query { customer(id: ID!): Customer  search(filter: Filter, first: Int = 10): [Result!]! }
  type Customer { id: ID!  name: String!  tier: Tier! }
  type Order { id: ID! }
  union Result = Customer | Order
  enum Tier { GOLD SILVER }
  input Filter { tier: Tier  text: String }
`);

const served = (name: string, fields: string[], args: string[] = [], count = 1): ServedOperation => ({
  hash: `${name}-hash`,
  name,
  type: 'query',
  fields,
  arguments: args,
  count,
  firstSeen: '2026-12-01T00:00:00.000Z',
  lastSeen: '2026-12-02T00:00:00.000Z',
});

const operations = [
  served('Name', ['Query.customer', 'Customer.name'], ['Query.customer(id:)'], 5),
  served('Tier', ['Query.customer', 'Customer.tier'], ['Query.customer(id:)'], 9),
  served('Search', ['Query.search', 'Order.id'], ['Query.search(filter:)']),
  served('SearchAll', ['Query.search', 'Customer.id']),
];

/** The names of the operations each change touches, by coordinate. */
function affected(afterSdl: string): Record<string, string[] | undefined> {
  const prints = footprints(before, operations);
  return Object.fromEntries(
    schemaChanges(before, buildSchema(afterSdl))
      .filter((c) => c.severity !== 'safe')
      .map((c) => [`${c.kind} ${c.coordinate}`, operationsAffected(c, prints)?.map((o) => o.name ?? '')]),
  );
}

describe('operations a change touches', { timeout: 10_000 }, () => {
  test('a removed field: the operations that select it, most used first', () => {
    assert.deepEqual(
      affected(`
        type Query { customer(id: ID!): Customer  search(filter: Filter, first: Int = 10): [Result!]! }
        type Customer { id: ID!  tier: Tier! }
        type Order { id: ID! }
        union Result = Customer | Order
        enum Tier { GOLD SILVER }
        input Filter { tier: Tier  text: String }
      `),
      { 'FIELD_REMOVED Customer.name': ['Name'] },
    );
  });

  test('arguments: a removed one, a required one added, a changed default', () => {
    assert.deepEqual(
      affected(`
        type Query { customer(id: ID!, region: String!): Customer  search(first: Int = 20): [Result!]! }
        type Customer { id: ID!  name: String!  tier: Tier! }
        type Order { id: ID! }
        union Result = Customer | Order
        enum Tier { GOLD SILVER }
        input Filter { tier: Tier  text: String }
      `),
      {
        'REQUIRED_ARG_ADDED Query.customer(region:)': ['Tier', 'Name'],
        'ARG_REMOVED Query.search(filter:)': ['Search'],
        'ARG_DEFAULT_VALUE_CHANGE Query.search(first:)': ['Search', 'SearchAll'],
      },
    );
  });

  test('types reached through fields and input values: an enum value, an input field, a union member', () => {
    assert.deepEqual(
      affected(`
        type Query { customer(id: ID!): Customer  search(filter: Filter, first: Int = 10): [Result!]! }
        type Customer { id: ID!  name: String!  tier: Tier! }
        type Order { id: ID! }
        union Result = Customer
        enum Tier { GOLD }
        input Filter { tier: Tier  text: String  scope: String! }
      `),
      {
        'VALUE_REMOVED_FROM_ENUM Tier.SILVER': ['Tier', 'Search'],
        'REQUIRED_INPUT_FIELD_ADDED Filter.scope': ['Search'],
        'TYPE_REMOVED_FROM_UNION Result': ['Search'],
      },
    );
  });

  test('a directive change: the record cannot say', () => {
    const prints = footprints(before, operations);
    const [change] = schemaChanges(buildSchema('directive @x on FIELD type Query { a: Int }'), buildSchema('type Query { a: Int }'));
    assert.equal(change?.kind, 'DIRECTIVE_REMOVED');
    assert.equal(operationsAffected(change!, prints), undefined);
  });
});
