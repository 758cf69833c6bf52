/**
 * The orders subgraph's own rules, at its resolvers: whose orders a principal may read, place,
 * cancel and stream. The schema is the subgraph's own (SDL and resolvers) over a projection with
 * one order of c3 and one of c4; the commands and the event streams are fakes that record what
 * reached them, so a denied call is seen to do nothing.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import { parse, subscribe, type ExecutionResult } from 'graphql';
import { Scope, type Principal } from '../../lib/auth/principal.ts';
import { Deadline } from '../../lib/deadline.ts';
import { ErrorCode } from '../../lib/errors.ts';
import { orderEvent } from '../../services/events/orders.ts';
import { ANONYMOUS, customerPrincipal, errorsAt, runWith, staffPrincipal } from '../../test/support/authorization.ts';
import { loadSubgraphSdl } from '../kit/subgraph.ts';
import type { OrderCommands, PlaceOrderInput } from './commands.ts';
import { OrderProjection } from './projection.ts';
import { resolvers, type OrdersContext } from './resolvers.ts';
import type { OrderEventFilter, OrderEventStreams } from './stream.ts';

const schema = buildSubgraphSchema([{ typeDefs: loadSubgraphSdl('orders'), resolvers: resolvers as GraphQLResolverMap<unknown> }]);

const projection = new OrderProjection();
for (const [offset, customerId] of ['c3', 'c4'].entries()) {
  const lines = [{ productId: 'p1', quantity: 1, unitPriceCents: 100 }];
  projection.apply({ partition: 0, offset }, orderEvent('OrderPlaced', `o-${customerId}`, { customerId, lines }));
}

/** What reached the fakes behind the rules. */
let placed: PlaceOrderInput[];
let cancelled: string[];
let opened: OrderEventFilter[];
beforeEach(() => {
  placed = [];
  cancelled = [];
  opened = [];
});

function contextFor(principal: Principal): OrdersContext {
  const commands = {
    placeOrder: async (input: PlaceOrderInput) => (placed.push(input), projection.get(`o-${input.customerId}`)),
    cancelOrder: async (id: string) => (cancelled.push(id), projection.get(id)),
  } as unknown as OrderCommands;
  const events = {
    open: async (filter: OrderEventFilter) => (opened.push(filter), (async function* () {})()),
  } as unknown as OrderEventStreams;
  return { projection, commands, events, extensions: {}, deadline: Deadline.after(10_000), principal };
}

const run = (principal: Principal, source: string, variables?: Record<string, unknown>) =>
  runWith(schema, contextFor(principal), source, variables);

const unauthorizedAt = (path: string) => [{ code: ErrorCode.UNAUTHORIZED, path }];

const c3 = customerPrincipal('c3');
const c3Writer = customerPrincipal('c3', [Scope.ORDERS_WRITE]);
const support = staffPrincipal([Scope.SUPPORT]);
const admin = staffPrincipal([Scope.ADMIN]);

describe('the orders subgraph: reading orders', () => {
  const CUSTOMER_ORDERS = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id orders { id } } } }';
  const representations = {
    r: [
      { __typename: 'Customer', id: 'c3' },
      { __typename: 'Customer', id: 'c4' },
    ],
  };

  test("a customer reads their own orders and gets UNAUTHORIZED at another customer's, with the rest", async () => {
    const result = await run(c3, CUSTOMER_ORDERS, representations);
    assert.deepEqual(result.data, {
      _entities: [
        { id: 'c3', orders: [{ id: 'o-c3' }] },
        { id: 'c4', orders: null },
      ],
    });
    assert.deepEqual(errorsAt(result), unauthorizedAt('_entities.1.orders'));
  });

  for (const [name, principal] of [
    ['support', support],
    ['admin', admin],
  ] as const) {
    test(`${name} reads every customer's orders, one order by id, and all orders`, async () => {
      const result = await run(principal, CUSTOMER_ORDERS, representations);
      assert.equal(result.errors, undefined);
      const all = await run(principal, '{ order(id: "o-c4") { id } orders { id } }');
      assert.equal(all.errors, undefined);
      assert.deepEqual(all.data, { order: { id: 'o-c4' }, orders: [{ id: 'o-c4' }, { id: 'o-c3' }] });
    });
  }

  test("one order by id: the owner's, UNAUTHORIZED for another customer and for nobody, null when unknown", async () => {
    assert.deepEqual((await run(c3, '{ order(id: "o-c3") { id } }')).data, { order: { id: 'o-c3' } });
    const other = await run(c3, '{ order(id: "o-c4") { id } }');
    assert.deepEqual(other.data, { order: null });
    assert.deepEqual(errorsAt(other), unauthorizedAt('order'));
    assert.deepEqual(errorsAt(await run(ANONYMOUS, '{ order(id: "o-c3") { id } }')), unauthorizedAt('order'));
    const unknown = await run(c3, '{ order(id: "o-none") { id } }');
    assert.deepEqual([unknown.data, unknown.errors], [{ order: null }, undefined]);
  });

  test('all orders need support: a customer (even with orders:write and orders:all) gets UNAUTHORIZED', async () => {
    const result = await run(customerPrincipal('c3', [Scope.ORDERS_WRITE, Scope.ORDERS_ALL]), '{ orders { id } }');
    assert.equal(result.data, null);
    assert.deepEqual(errorsAt(result), unauthorizedAt('orders'));
  });
});

describe('the orders subgraph: commands', () => {
  const PLACE = 'mutation ($c: ID!) { placeOrder(input: { customerId: $c, lines: [{ productId: "p1", quantity: 1 }] }) { id } }';
  const CANCEL = 'mutation ($id: ID!) { cancelOrder(id: $id) { id } }';

  test('a customer with orders:write places and cancels their own orders', async () => {
    assert.deepEqual((await run(c3Writer, PLACE, { c: 'c3' })).data, { placeOrder: { id: 'o-c3' } });
    assert.deepEqual((await run(c3Writer, CANCEL, { id: 'o-c3' })).data, { cancelOrder: { id: 'o-c3' } });
    assert.deepEqual([placed.map((p) => p.customerId), cancelled], [['c3'], ['o-c3']]);
  });

  test('a customer cannot place or cancel for another customer, even with orders:write: nothing reaches the commands', async () => {
    assert.deepEqual(errorsAt(await run(c3Writer, PLACE, { c: 'c4' })), unauthorizedAt('placeOrder'));
    assert.deepEqual(errorsAt(await run(c3Writer, CANCEL, { id: 'o-c4' })), unauthorizedAt('cancelOrder'));
    assert.deepEqual([placed, cancelled], [[], []]);
  });

  test('commands need orders:write: the customer themself without it, support and nobody are refused', async () => {
    for (const principal of [c3, support, ANONYMOUS]) {
      assert.deepEqual(errorsAt(await run(principal, PLACE, { c: 'c3' })), unauthorizedAt('placeOrder'));
      assert.deepEqual(errorsAt(await run(principal, CANCEL, { id: 'o-c3' })), unauthorizedAt('cancelOrder'));
    }
    assert.deepEqual([placed, cancelled], [[], []]);
  });

  test('admin places and cancels for any customer', async () => {
    assert.equal((await run(admin, PLACE, { c: 'c4' })).errors, undefined);
    assert.equal((await run(admin, CANCEL, { id: 'o-c4' })).errors, undefined);
    assert.deepEqual([placed.map((p) => p.customerId), cancelled], [['c4'], ['o-c4']]);
  });

  test('cancelling an order the projection has not seen reaches the command (which answers NOT_FOUND for anyone)', async () => {
    await run(c3Writer, CANCEL, { id: 'o-none' });
    assert.deepEqual(cancelled, ['o-none']);
  });
});

describe('the orders subgraph: orderEvents', () => {
  const EVENTS = parse('subscription ($c: ID) { orderEvents(customerId: $c) { cursor } }');

  /** Subscribes as `principal`; the errors when refused, else the filter the stream was opened with. */
  async function subscribeAs(principal: Principal, customerId?: string): Promise<ExecutionResult | OrderEventFilter> {
    const result = await subscribe({ schema, document: EVENTS, variableValues: { c: customerId }, contextValue: contextFor(principal) });
    if (!(Symbol.asyncIterator in result)) return result;
    await result.return?.();
    assert.equal(opened.length, 1);
    return opened[0]!;
  }

  test("a customer streams their own orders' events", async () => {
    assert.deepEqual(await subscribeAs(c3, 'c3'), {
      customerId: 'c3',
      types: undefined,
      after: undefined,
      until: undefined,
      checkpoints: false,
    });
  });

  test("another customer's events, or everyone's, need orders:all", async () => {
    assert.deepEqual(errorsAt((await subscribeAs(c3, 'c4')) as ExecutionResult), unauthorizedAt('orderEvents'));
    assert.deepEqual(errorsAt((await subscribeAs(c3)) as ExecutionResult), unauthorizedAt('orderEvents'));
    assert.deepEqual(errorsAt((await subscribeAs(support)) as ExecutionResult), unauthorizedAt('orderEvents'));
    assert.deepEqual(opened, []);
    const all = staffPrincipal([Scope.ORDERS_ALL]);
    assert.equal(((await subscribeAs(all, 'c4')) as OrderEventFilter).customerId, 'c4');
    opened = [];
    assert.equal(((await subscribeAs(all)) as OrderEventFilter).customerId, undefined);
    opened = [];
    assert.equal(((await subscribeAs(admin)) as OrderEventFilter).customerId, undefined);
  });

  test('nobody streams anything', async () => {
    assert.deepEqual(errorsAt((await subscribeAs(ANONYMOUS, 'c3')) as ExecutionResult), unauthorizedAt('orderEvents'));
    assert.deepEqual(opened, []);
  });
});
