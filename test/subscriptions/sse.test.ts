/**
 * GraphQL over Server-Sent Events at `/graphql/stream`, distinct connections mode (graphql-sse):
 * one POST with `accept: text/event-stream` per operation, its results as `event: next` messages,
 * then `event: complete` and the end of the response.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { generateCustomers } from '../../services/customers/data.ts';
import { orderStream } from '../kafka/order-stream.ts';
import { runProducer, type ProducerRun } from '../kafka/orders-support.ts';
import { EventStream } from '../support/sse.ts';
import { postHeadFirst } from '../support/graphql.ts';
import { waitFor } from '../support/wait.ts';
import {
  ORDER_EVENTS,
  expectedPerOrder,
  gatewayStats,
  metric,
  perOrder,
  startExtraGateway,
  startSubscriptionSystem,
  withoutCursor,
  type OrderEventResult,
  type SubscriptionSystem,
  SYSTEM_START,
} from './support.ts';
import { Cleanups } from '../kafka/orders-support.ts';

/** Room for a loaded machine: these tests wait on processes, each wait up to 60-120 s. */
const SYSTEM_TEST = { timeout: 600_000 };

const C3_NAME = generateCustomers()[2]!.name;

describe('GraphQL over SSE on the gateway, distinct connections mode', () => {
  let sys: SubscriptionSystem;
  let streamUrl: string;

  // Whatever the system start got to is stopped, even when the start fails or times out.
  const cleanups = new Cleanups();
  after(() => cleanups.run());
  before(async () => {
    sys = await startSubscriptionSystem({}, cleanups);
    streamUrl = `${sys.gatewayUrl}/graphql/stream`;
  }, SYSTEM_START);
  after(async () => {
    await sys?.stop();
  });

  /** Waits until the gateway has `subscribers` client subscriptions. */
  const untilSubscribers = (opsUrl: string, subscribers: number, timeoutMs = 60_000) =>
    waitFor(
      async () => (await gatewayStats(opsUrl)).subscribers === subscribers,
      timeoutMs,
      `the gateway never had ${subscribers} subscribers`,
      25,
    );

  /** Opens an ORDER_EVENTS stream (closed when the test `t` ends) and waits until the gateway and the orders subgraph count it. */
  async function subscribeToOrderEvents(
    t: TestContext,
    { gatewayUrl, opsUrl }: { gatewayUrl: string; opsUrl: string },
  ): Promise<EventStream> {
    const active = await metric(sys.ordersOpsUrl, 'orders_subscriptions_active');
    const { subscribers } = await gatewayStats(opsUrl);
    const stream = await EventStream.post(`${gatewayUrl}/graphql/stream`, { query: ORDER_EVENTS }, sys.auth);
    t.after(() => stream.close());
    assert.equal(stream.response.status, 200);
    assert.equal(stream.response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    await untilSubscribers(opsUrl, subscribers + 1);
    // The first ORDER_EVENTS subscription of a gateway opens an upstream one; later ones share it.
    if (subscribers === 0)
      await waitFor(
        async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === active + 1,
        60_000,
        'the upstream subscription never opened',
      );
    return stream;
  }

  test('a subscription receives every published event as event: next', SYSTEM_TEST, async (t) => {
    const stream = await subscribeToOrderEvents(t, { gatewayUrl: sys.gatewayUrl, opsUrl: sys.gatewayOpsUrl });
    const run: ProducerRun = { orders: 5, seed: 61, prefix: 'sse' };
    const published = orderStream(run.orders, run.seed, run.prefix);
    await runProducer(t, sys.brokers, run);
    await waitFor(() => stream.nexts().length >= published.length, 120_000, `fewer than ${published.length} events arrived`, 25);

    const nexts = stream.nexts<OrderEventResult>();
    assert.equal(nexts.length, published.length);
    assert.deepEqual(perOrder(nexts.map((p) => withoutCursor(p.data!.orderEvents))), expectedPerOrder(published));
    assert.deepEqual(
      stream.events.filter((e) => e.event !== 'next'),
      [],
    );
    assert.equal(stream.finished, false);
  });

  test('a subscription that asks for stream status gets its position before its first event', SYSTEM_TEST, async (t) => {
    const stream = await EventStream.post(streamUrl, { query: ORDER_EVENTS, extensions: { stream: { status: true } } }, sys.auth);
    t.after(() => stream.close());
    assert.equal(stream.response.status, 200);
    await waitFor(() => stream.nexts().length > 0, 60_000, 'no status-only result came');
    const [first] = stream.nexts() as { data?: unknown; extensions?: { stream?: { lagging?: unknown; position?: unknown } } }[];
    assert.equal(first!.data, undefined);
    assert.equal(typeof first!.extensions?.stream?.position, 'string');
    assert.equal(typeof first!.extensions?.stream?.lagging, 'boolean');
  });

  test('closing the event stream ends the subscription', SYSTEM_TEST, async (t) => {
    // A gateway of its own, so what this leaves behind does not count in the other tests.
    const gateway = await startExtraGateway(sys, {}, t);
    const active = await metric(sys.ordersOpsUrl, 'orders_subscriptions_active');
    const stream = await subscribeToOrderEvents(t, gateway);
    await stream.close();
    await untilSubscribers(gateway.opsUrl, 0);
    await waitFor(
      async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === active,
      60_000,
      'the upstream subscription was not released',
      100,
    );
  });

  test('a subscription the server ends gets its last events, then event: complete, and the response ends', SYSTEM_TEST, async (t) => {
    // A gateway of its own, stopped while the subscription is open.
    const gateway = await startExtraGateway(sys, {}, t);
    const stream = await subscribeToOrderEvents(t, gateway);
    const run: ProducerRun = { orders: 3, seed: 62, prefix: 'sse-end' };
    const published = orderStream(run.orders, run.seed, run.prefix);
    await runProducer(t, sys.brokers, run);
    await waitFor(() => stream.nexts().length >= published.length, 120_000, `fewer than ${published.length} events arrived`, 25);

    assert.equal(await gateway.child.stop(), 0);
    await stream.untilEnded();
    assert.deepEqual(
      stream.events.map((e) => e.event),
      [...published.map(() => 'next'), 'complete'],
    );
    assert.equal(stream.events.at(-1)!.data, null);
  });

  test('a subscription whose subgraph refuses its arguments gets the error as event: next, then event: complete', SYSTEM_TEST, async () => {
    const stream = await EventStream.post(streamUrl, { query: 'subscription { orderEvents(after: "not-a-cursor") { cursor } }' }, sys.auth);
    assert.equal(stream.response.status, 200);
    await stream.untilEnded();
    assert.deepEqual(stream.events, [
      {
        event: 'next',
        data: {
          errors: [
            {
              message: '`after` is not a valid cursor: not a cursor',
              path: ['orderEvents'],
              extensions: { code: 'INVALID_CURSOR', argument: 'after', serviceName: 'orders' },
            },
          ],
        },
      },
      { event: 'complete', data: null },
    ]);
  });

  test('a query gets one event: next with its result, then event: complete', SYSTEM_TEST, async () => {
    const stream = await EventStream.post(streamUrl, {
      query: 'query C($id: ID!) { customer(id: $id) { name } }',
      variables: { id: 'c3' },
    });
    assert.equal(stream.response.status, 200);
    await stream.untilEnded();
    assert.deepEqual(stream.events, [
      { event: 'next', data: { data: { customer: { name: C3_NAME } } } },
      { event: 'complete', data: null },
    ]);
  });

  test('a query that does not parse gets 400 with the syntax error, GRAPHQL_PARSE_FAILED as over HTTP', SYSTEM_TEST, async () => {
    const response = await fetch(streamUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: '{ customer(id: "c3") { name }' }),
    });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await response.json(), {
      errors: [
        {
          message: 'Syntax Error: Expected Name, found <EOF>.',
          locations: [{ line: 1, column: 30 }],
          extensions: { code: 'GRAPHQL_PARSE_FAILED' },
        },
      ],
    });
  });

  test('a request without a query gets 400 BAD_REQUEST with the reason', SYSTEM_TEST, async () => {
    const response = await fetch(streamUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ variables: {} }),
    });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { errors: [{ message: 'Missing query', extensions: { code: 'BAD_REQUEST' } }] });
  });

  test('a body over BODY_LIMIT_BYTES gets 413 PAYLOAD_TOO_LARGE, as on /graphql', SYSTEM_TEST, async () => {
    // The gateway's default limit is 1 000 000 bytes.
    const body = JSON.stringify({ query: '{ __typename }', extensions: { padding: 'x'.repeat(1_100_000) } });
    const onGraphQL = await postHeadFirst(`${sys.gatewayUrl}/graphql`, { 'content-type': 'application/json' }, body);
    assert.equal(onGraphQL.status, 413);
    const response = await postHeadFirst(streamUrl, { 'content-type': 'application/json', accept: 'text/event-stream' }, body);
    assert.equal(response.status, 413);
    assert.deepEqual(JSON.parse(response.text), {
      errors: [{ message: 'request body is too large', extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
  });

  for (const [what, headers, status] of [
    ['an unsupported charset', { 'content-type': 'application/json; charset=latin1' }, 415],
    ['an unknown content encoding', { 'content-type': 'application/json', 'content-encoding': 'bogus' }, 415],
  ] as const) {
    test(
      `a body with ${what} gets ${status} BAD_REQUEST as JSON on /graphql and on /graphql/stream, with no stack trace`,
      SYSTEM_TEST,
      async () => {
        for (const url of [`${sys.gatewayUrl}/graphql`, streamUrl]) {
          const response = await fetch(url, {
            method: 'POST',
            headers: { ...headers, accept: 'text/event-stream, application/json' },
            body: JSON.stringify({ query: '{ __typename }' }),
          });
          const text = await response.text();
          assert.equal(response.status, status, `${url}: ${text}`);
          assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
          const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] };
          assert.equal(body.errors[0]?.extensions.code, 'BAD_REQUEST');
          assert.doesNotMatch(text, /\bat \S+ \(|node_modules|\/[\w.-]+\/[\w.-]+\.ts/, 'no stack trace or file path');
        }
      },
    );
  }

  test('a query that does not validate gets the coded validation error as event: next, then event: complete', SYSTEM_TEST, async () => {
    // graphql-sse answers validation errors inside the accepted event stream, not with 400.
    const stream = await EventStream.post(streamUrl, { query: '{ customer(id: "c3") { shoeSize } }' });
    assert.equal(stream.response.status, 200);
    await stream.untilEnded();
    assert.deepEqual(stream.events, [
      {
        event: 'next',
        data: {
          errors: [
            {
              message: 'Cannot query field "shoeSize" on type "Customer".',
              locations: [{ line: 1, column: 24 }],
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
            },
          ],
        },
      },
      { event: 'complete', data: null },
    ]);
  });
});
