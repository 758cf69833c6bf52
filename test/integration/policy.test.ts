/**
 * The example policy (README "The example API"), end to end: the example system with its
 * development key set, tokens from `system.token`, every request through the gateway, over HTTP,
 * graphql-ws and SSE alike. What the gateway decides (`@authenticated`, `@requiresScopes`) and what
 * the subgraphs decide (whose data it is) must add up to the documented table: a denied field is
 * null with UNAUTHORIZED, and the rest of the data comes back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Scope } from '../../lib/auth/principal.ts';
import { ErrorCode } from '../../lib/errors.ts';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { generateCustomers } from '../../services/customers/data.ts';
import { ProtocolClient, type NextPayload } from '../subscriptions/support.ts';
import { EventStream } from '../support/sse.ts';
import { waitFor } from '../support/wait.ts';

const SYSTEM_TEST = { timeout: 120_000 };

type Transport = 'http' | 'ws' | 'sse';
type Result = NextPayload<Record<string, unknown>>;

const [C3, C4] = [generateCustomers()[2]!, generateCustomers()[3]!];

const PLACE = 'mutation ($c: ID!) { placeOrder(input: { customerId: $c, lines: [{ productId: "p1", quantity: 1 }] }) { id } }';
const CANCEL = 'mutation ($id: ID!) { cancelOrder(id: $id) { id status } }';
const CUSTOMERS = `{
  c3: customer(id: "c3") { id name email orders(first: 100) { id } }
  c4: customer(id: "c4") { id name email orders(first: 100) { id } }
}`;
const EVENTS = 'subscription ($c: ID) { orderEvents(customerId: $c) { type order { id customer { id } } } }';

/** The codes of a result's errors. */
const codes = (result: Result) => (result.errors ?? []).map((e) => e.extensions?.['code']);

/** A result that is only UNAUTHORIZED errors (at least one). */
function assertUnauthorized(result: Result, what: string): void {
  assert.ok(result.errors && result.errors.length > 0, `${what}: expected UNAUTHORIZED, got ${JSON.stringify(result)}`);
  assert.deepEqual(new Set(codes(result)), new Set([ErrorCode.UNAUTHORIZED]), `${what}: ${JSON.stringify(result.errors)}`);
}

function assertNoErrors(result: Result, what: string): void {
  assert.equal(result.errors, undefined, `${what}: ${JSON.stringify(result.errors)}`);
}

describe('the example policy through the gateway', () => {
  let system: ExampleSystem | undefined;
  let tokens: Record<'c3' | 'c3Writer' | 'c4' | 'c4Writer' | 'support' | 'ordersAll' | 'admin', string>;
  let graphqlUrl: string;

  before(
    async () => {
      system = await startExampleSystem({ host: '127.0.0.1', gatewayPort: 0, logLevel: 'warn' });
      graphqlUrl = `${system.gatewayUrl}/graphql`;
      const token = system.token.bind(system);
      tokens = {
        c3: await token({ customer: 'c3' }),
        c3Writer: await token({ customer: 'c3', scopes: [Scope.ORDERS_WRITE] }),
        c4: await token({ customer: 'c4' }),
        c4Writer: await token({ customer: 'c4', scopes: [Scope.ORDERS_WRITE] }),
        support: await token({ subject: 'support-1', scopes: [Scope.SUPPORT] }),
        ordersAll: await token({ subject: 'back-office', scopes: [Scope.ORDERS_ALL] }),
        admin: await token({ subject: 'admin-1', scopes: [Scope.ADMIN] }),
      };
    },
    { timeout: 300_000 },
  );
  after(() => system?.stop());

  const bearer = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

  /** One query or mutation over `transport`, as the holder of `token` (none: anonymous); its one result. */
  async function execute(
    transport: Transport,
    token: string | undefined,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<Result> {
    if (transport === 'http') {
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { ...bearer(token), 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as Result;
    }
    if (transport === 'ws') {
      const client = await ProtocolClient.connect(graphqlUrl.replace(/^http/, 'ws'), token ? bearer(token) : undefined);
      try {
        const results = await client.execute('op', query, variables);
        assert.equal(results.length, 1, JSON.stringify(results));
        return results[0]!;
      } finally {
        await client.close();
      }
    }
    const stream = await EventStream.post(`${graphqlUrl}/stream`, { query, variables }, bearer(token));
    try {
      await stream.untilEnded();
      const results = stream.nexts();
      assert.equal(results.length, 1, JSON.stringify(stream.events));
      return results[0]!;
    } finally {
      await stream.close();
    }
  }

  /** Places an order for `customerId` over HTTP as `token`'s holder; its id. */
  async function place(token: string, customerId: string): Promise<string> {
    const result = await execute('http', token, PLACE, { c: customerId });
    assertNoErrors(result, `placeOrder for ${customerId}`);
    return (result.data!['placeOrder'] as { id: string }).id;
  }

  for (const transport of ['http', 'ws', 'sse'] as const) {
    describe(`queries and mutations over ${transport}`, () => {
      test(
        "a customer sees their own e-mail and orders, and UNAUTHORIZED at another customer's, with the rest of the data",
        SYSTEM_TEST,
        async () => {
          const mine = await place(tokens.c3Writer, 'c3');
          const result = await execute(transport, tokens.c3, CUSTOMERS);
          const data = result.data as { c3: { email: string; orders: { id: string }[] }; c4: unknown };
          assert.equal(data.c3.email, C3.email);
          assert.ok(
            data.c3.orders.some((o) => o.id === mine),
            "the order just placed is among the customer's orders",
          );
          assert.deepEqual(data.c4, { id: 'c4', name: C4.name, email: null, orders: null });
          assertUnauthorized(result, "another customer's e-mail and orders");
          for (const error of result.errors!) assert.equal(error.path?.[0], 'c4', JSON.stringify(error));
        },
      );

      test("the support scope sees every customer's e-mail and orders, and all orders", SYSTEM_TEST, async () => {
        const result = await execute(transport, tokens.support, CUSTOMERS);
        assertNoErrors(result, 'support');
        const data = result.data as Record<'c3' | 'c4', { email: string; orders: unknown[] }>;
        assert.deepEqual([data.c3.email, data.c4.email], [C3.email, C4.email]);
        assert.ok(Array.isArray(data.c3.orders) && Array.isArray(data.c4.orders));
        assertNoErrors(await execute(transport, tokens.support, '{ orders(first: 5) { id } }'), 'all orders with support');
      });

      test('nobody (no token) gets UNAUTHORIZED for an e-mail, and the rest of the customer', SYSTEM_TEST, async () => {
        const result = await execute(transport, undefined, '{ customer(id: "c3") { id name email } }');
        assert.deepEqual(result.data, { customer: { id: 'c3', name: C3.name, email: null } });
        assertUnauthorized(result, 'an anonymous e-mail');
      });

      test('all orders need the support scope; one order by id is for its customer', SYSTEM_TEST, async () => {
        assertUnauthorized(await execute(transport, tokens.c3Writer, '{ orders(first: 5) { id } }'), 'all orders as a customer');
        const theirs = await place(tokens.c4Writer, 'c4');
        const query = 'query ($id: ID!) { order(id: $id) { id } }';
        assertUnauthorized(await execute(transport, tokens.c3, query, { id: theirs }), "another customer's order");
        assert.deepEqual((await execute(transport, tokens.c4, query, { id: theirs })).data, { order: { id: theirs } });
      });

      test("placeOrder: for the token's own customer with orders:write, for another only as admin", SYSTEM_TEST, async () => {
        const own = await execute(transport, tokens.c3Writer, PLACE, { c: 'c3' });
        assertNoErrors(own, 'placeOrder for c3 as c3');
        assertUnauthorized(await execute(transport, tokens.c3Writer, PLACE, { c: 'c4' }), 'placeOrder for c4 as c3');
        assertUnauthorized(await execute(transport, tokens.c3, PLACE, { c: 'c3' }), 'placeOrder without orders:write');
        assertNoErrors(await execute(transport, tokens.admin, PLACE, { c: 'c4' }), 'placeOrder for c4 as admin');
      });

      test("cancelOrder of another customer's order is UNAUTHORIZED, and the order stays as it was", SYSTEM_TEST, async () => {
        const theirs = await place(tokens.admin, 'c4');
        assertUnauthorized(await execute(transport, tokens.c3Writer, CANCEL, { id: theirs }), "cancelling c4's order as c3");
        const now = await execute('http', tokens.support, 'query ($id: ID!) { order(id: $id) { status } }', { id: theirs });
        assert.notEqual((now.data?.['order'] as { status: string }).status, 'CANCELLED');
      });

      // Cancelled right after it is placed: fulfillment ships an order seconds later (PAY_DELAY_MS + SHIP_DELAY_MS).
      test(
        "cancelOrder: by the order's customer with orders:write, by admin for another customer, never without orders:write",
        SYSTEM_TEST,
        async () => {
          const cancelled = (result: Result, id: string, what: string) => {
            assertNoErrors(result, what);
            assert.deepEqual(result.data, { cancelOrder: { id, status: 'CANCELLED' } }, what);
          };
          const own = await place(tokens.c3Writer, 'c3');
          assertUnauthorized(await execute(transport, tokens.c3, CANCEL, { id: own }), 'cancelling its own order without orders:write');
          cancelled(await execute(transport, tokens.c3Writer, CANCEL, { id: own }), own, 'cancelling its own order');
          const theirs = await place(tokens.c4Writer, 'c4');
          cancelled(await execute(transport, tokens.admin, CANCEL, { id: theirs }), theirs, "cancelling c4's order as admin");
        },
      );
    });
  }

  /** A subscription's results so far, and how to end it. */
  interface OpenSubscription {
    results(): Result[];
    close(): Promise<void>;
  }

  /** Subscribes to orderEvents (of `customerId`, or all) over graphql-ws or SSE as `token`'s holder. */
  async function subscribe(transport: 'ws' | 'sse', token: string | undefined, customerId?: string): Promise<OpenSubscription> {
    const variables = customerId === undefined ? {} : { c: customerId };
    if (transport === 'ws') {
      const client = await ProtocolClient.connect(graphqlUrl.replace(/^http/, 'ws'), token ? bearer(token) : undefined);
      client.subscribe('events', EVENTS, variables);
      return {
        // An error at the start of a subscription may come as graphql-ws's `error` message (its payload: the errors).
        results: () =>
          client.messages
            .filter((m) => m.id === 'events' && (m.type === 'next' || m.type === 'error'))
            .map((m) => (m.type === 'next' ? (m.payload as Result) : { errors: m.payload as Result['errors'] })),
        close: () => client.close(),
      };
    }
    const stream = await EventStream.post(`${graphqlUrl}/stream`, { query: EVENTS, variables }, bearer(token));
    return { results: () => stream.nexts(), close: () => stream.close() };
  }

  /** Waits for the subscription's first result and checks it is UNAUTHORIZED. */
  async function assertRefused(subscription: OpenSubscription, what: string): Promise<void> {
    try {
      await waitFor(() => subscription.results().length > 0, 60_000, `${what}: no answer`);
      assertUnauthorized(subscription.results()[0]!, what);
    } finally {
      await subscription.close();
    }
  }

  /**
   * Waits for an event of c3's, placing an order of c3 now and then until one comes (the stream
   * starts from now, so an order placed before it opened would not be seen). Every result has no
   * errors; a stream of one customer's (`onlyC3`) has nothing else, while one of every event may
   * also carry other customers' (the fulfillment service pays and ships earlier orders meanwhile).
   */
  async function assertStreams(subscription: OpenSubscription, what: string, onlyC3: boolean): Promise<void> {
    const customers = () =>
      subscription
        .results()
        .map((r) => (r.data as { orderEvents?: { order: { customer: { id: string } } } } | null)?.orderEvents?.order.customer.id);
    try {
      await waitFor(
        async () => {
          if (customers().includes('c3')) return true;
          await place(tokens.c3Writer, 'c3');
          return false;
        },
        60_000,
        `${what}: no event of c3's`,
        500,
      );
      for (const result of subscription.results()) assertNoErrors(result, what);
      if (onlyC3) assert.deepEqual([...new Set(customers())], ['c3'], `${what}: only c3's events`);
    } finally {
      await subscription.close();
    }
  }

  for (const transport of ['ws', 'sse'] as const) {
    describe(`orderEvents over ${transport}`, () => {
      test('without customerId it needs orders:all', SYSTEM_TEST, async () => {
        await assertRefused(await subscribe(transport, tokens.c3Writer), 'every event as a customer');
        await assertRefused(await subscribe(transport, tokens.support), 'every event with support');
        await assertRefused(await subscribe(transport, undefined), 'every event without a token');
        await assertStreams(await subscribe(transport, tokens.ordersAll), 'every event with orders:all', false);
      });

      test("with customerId it is that customer's own stream (or orders:all)", SYSTEM_TEST, async () => {
        await assertStreams(await subscribe(transport, tokens.c3, 'c3'), "c3's events as c3", true);
        await assertRefused(await subscribe(transport, tokens.c4, 'c3'), "c3's events as c4");
        await assertRefused(await subscribe(transport, undefined, 'c3'), "c3's events without a token");
        await assertStreams(await subscribe(transport, tokens.ordersAll, 'c3'), "c3's events with orders:all", true);
      });
    });
  }
});
