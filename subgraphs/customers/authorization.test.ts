/**
 * The customers subgraph's own rule, at its resolvers: a customer's e-mail is for that customer or
 * the support scope; anyone else gets null there with UNAUTHORIZED, and the rest of the customer.
 * The schema is the subgraph's own (SDL and resolvers) over two customers in memory.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import DataLoader from 'dataloader';
import type { ExecutionResult } from 'graphql';
import { Scope, type Principal } from '../../lib/auth/principal.ts';
import { ErrorCode } from '../../lib/errors.ts';
import { ANONYMOUS, customerPrincipal, errorsAt, runWith, staffPrincipal } from '../../test/support/authorization.ts';
import { loadSubgraphSdl } from '../kit/subgraph.ts';
import type { CustomersSource, RestCustomer } from './datasource.ts';
import { resolvers, type CustomersContext } from './resolvers.ts';

const stored: RestCustomer[] = ['c3', 'c4'].map((id) => ({
  id,
  name: `Customer ${id}`,
  email: `${id}@example.test`,
  tier: 'gold',
  favoriteProductIds: ['p1'],
}));

const schema = buildSubgraphSchema([{ typeDefs: loadSubgraphSdl('customers'), resolvers: resolvers as GraphQLResolverMap<unknown> }]);

function contextFor(principal: Principal): CustomersContext {
  const source = { list: async (count: number) => stored.slice(0, count) } as unknown as CustomersSource;
  const customers = new DataLoader<string, RestCustomer | null>(async (ids) => ids.map((id) => stored.find((c) => c.id === id) ?? null));
  return { source, customers, principal };
}

const run = (principal: Principal, source: string, variables?: Record<string, unknown>): Promise<ExecutionResult> =>
  runWith(schema, contextFor(principal), source, variables);

const LIST = '{ customers(first: 2) { id name email } }';

describe('the customers subgraph: who sees an e-mail', () => {
  test("a customer sees their own e-mail and gets UNAUTHORIZED at another's, with the rest of the data", async () => {
    const result = await run(customerPrincipal('c3'), LIST);
    assert.deepEqual(result.data, {
      customers: [
        { id: 'c3', name: 'Customer c3', email: 'c3@example.test' },
        { id: 'c4', name: 'Customer c4', email: null },
      ],
    });
    assert.deepEqual(errorsAt(result), [{ code: ErrorCode.UNAUTHORIZED, path: 'customers.1.email' }]);
  });

  for (const [name, principal] of [
    ['support', staffPrincipal([Scope.SUPPORT])],
    ['admin', staffPrincipal([Scope.ADMIN])],
  ] as const) {
    test(`the ${name} scope sees every e-mail`, async () => {
      const result = await run(principal, LIST);
      assert.equal(result.errors, undefined);
      assert.deepEqual(
        (result.data?.['customers'] as { email: string }[]).map((c) => c.email),
        ['c3@example.test', 'c4@example.test'],
      );
    });
  }

  for (const [name, principal] of [
    ['nobody (no token)', ANONYMOUS],
    ['a token without a customer or support', staffPrincipal([Scope.ORDERS_ALL, Scope.ORDERS_WRITE])],
  ] as const) {
    test(`${name} gets UNAUTHORIZED for an e-mail, and the customer's other fields`, async () => {
      const result = await run(principal, '{ customer(id: "c3") { id name email } }');
      assert.deepEqual(result.data, { customer: { id: 'c3', name: 'Customer c3', email: null } });
      assert.deepEqual(errorsAt(result), [{ code: ErrorCode.UNAUTHORIZED, path: 'customer.email' }]);
    });
  }

  test('the rule holds for a customer the gateway fetches as an entity (another subgraph reached it)', async () => {
    const result = await run(
      customerPrincipal('c4'),
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id email } } }',
      {
        r: [
          { __typename: 'Customer', id: 'c3' },
          { __typename: 'Customer', id: 'c4' },
        ],
      },
    );
    assert.deepEqual(result.data, {
      _entities: [
        { id: 'c3', email: null },
        { id: 'c4', email: 'c4@example.test' },
      ],
    });
    assert.deepEqual(errorsAt(result), [{ code: ErrorCode.UNAUTHORIZED, path: '_entities.0.email' }]);
  });
});
