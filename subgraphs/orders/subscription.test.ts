import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ErrorCode } from '../../lib/errors.ts';
import { readStreamPosition, type StreamPosition } from '../../lib/resumable.ts';
import { MemoryEventLog } from '../../lib/eventlog/memory.ts';
import type { GraphQLHost as Host } from '../../lib/graphql-http.ts';
import { createLogger } from '../../lib/logger.ts';
import { ORDERS_TOPIC, encodeOrderEvent, orderEvent, type OrderEvent } from '../../services/events/orders.ts';
import { quietPeriod, waitFor } from '../../test/support/wait.ts';
import { startSubgraph } from '../kit/subgraph.ts';
import { TEST_IDENTITY_SECRET, identityConnectionParams, identityHeaders, testIdentityOptions } from '../../test/support/identity.ts';
import { decodeCursor } from '../kit/projection/cursor.ts';
import { createOrdersSubgraph, ordersConfig } from './index.ts';
import type { OrdersContext } from './resolvers.ts';

type GraphQLHost = Host<OrdersContext>;

const log = createLogger('test', 'silent');

const ORDER_EVENTS = /* GraphQL */ `
  subscription ($customerId: ID, $types: [OrderEventType!], $after: String) {
    orderEvents(customerId: $customerId, types: $types, after: $after) {
      cursor
      type
      occurredAt
      order {
        id
        status
        version
      }
    }
  }
`;

interface Delivered {
  cursor: string;
  type: string;
  occurredAt: string;
  order: { id: string; status: string; version: number };
}

/** Each subgraph's own DATA_DIR (its snapshots), removed once the file is done. */
const dataDirs: string[] = [];
after(() => Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function startOrders(eventLog: MemoryEventLog, settings: Record<string, string> = {}): Promise<GraphQLHost> {
  const dataDir = await mkdtemp(join(tmpdir(), 'interchange-orders-'));
  dataDirs.push(dataDir);
  const config = ordersConfig.parse({
    DATA_DIR: dataDir,
    IDENTITY_SECRET: TEST_IDENTITY_SECRET,
    EMBEDDED_FULFILLMENT: 'true',
    FULFILLMENT_PAY_DELAY_MS: '50',
    FULFILLMENT_SHIP_DELAY_MS: '50',
    ...settings,
  });
  const host = await startSubgraph(createOrdersSubgraph(config, log, eventLog), {
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: 1_000_000,
    identity: testIdentityOptions,
    log,
  });
  try {
    await waitFor(
      async () => assert.equal((await fetch(new URL('/readyz', host.url))).status, 200),
      10_000,
      'the orders subgraph never became ready',
    );
  } catch (err) {
    await host.stop();
    throw err;
  }
  return host;
}

const connect = (host: GraphQLHost): Client =>
  createClient({
    url: host.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazyCloseTimeout: 0,
    connectionParams: identityConnectionParams(),
  });

/** One subscription's results, with the outcome of each read-your-events query made on receipt. */
class Recording {
  readonly results: FormattedExecutionResult<{ orderEvents: Delivered }, Record<string, unknown>>[] = [];
  readonly queried: { event: Delivered; version: number | undefined }[] = [];
  completed = false;
  error: unknown;
  readonly unsubscribe: () => void;

  constructor(client: Client, variables: Record<string, unknown>, host?: GraphQLHost, extensions?: Record<string, unknown>) {
    open.add(this);
    const unsubscribe = client.subscribe<{ orderEvents: Delivered }, Record<string, unknown>>(
      { query: ORDER_EVENTS, variables, ...(extensions && { extensions }) },
      {
        next: (result) => {
          this.results.push(result);
          const event = result.data?.orderEvents;
          // Query right away: the order must already show at least this event's version.
          if (event && host) {
            void query<{ order: { version: number } | null }>(host, 'query ($id: ID!) { order(id: $id) { version } }', {
              id: event.order.id,
            }).then((r) => this.queried.push({ event, version: r.data?.order?.version }));
          }
        },
        error: (err) => (this.error = err),
        complete: () => (this.completed = true),
      },
    );
    this.unsubscribe = () => {
      open.delete(this);
      unsubscribe();
    };
  }

  /** What `extensions.resumable` of each result said (schema/resumable.md), in order. */
  get positions(): (StreamPosition & { event: boolean })[] {
    return this.results.flatMap((r) => {
      const position = readStreamPosition(r);
      return position ? [{ ...position, event: r.data !== undefined }] : [];
    });
  }

  get events(): Delivered[] {
    return this.results.flatMap((r) => (r.data?.orderEvents ? [r.data.orderEvents] : []));
  }

  async until(count: number): Promise<Delivered[]> {
    await eventually(() =>
      assert.ok(
        this.events.length >= count,
        `${this.events.length} of ${count} events: ${JSON.stringify(this.events.map((e) => [e.order.id.slice(0, 6), e.type, e.order.version]))}`,
      ),
    );
    return this.events;
  }
}

const open = new Set<Recording>();

/** Subscribes and waits until the subgraph has started the subscription (so no event can be missed). */
async function subscribed(
  host: GraphQLHost,
  client: Client,
  variables: Record<string, unknown>,
  queryHost?: GraphQLHost,
  extensions?: Record<string, unknown>,
): Promise<Recording> {
  const before = await metric(host, 'orders_subscriptions_started_total');
  const recording = new Recording(client, variables, queryHost, extensions);
  await eventually(async () => assert.ok((await metric(host, 'orders_subscriptions_started_total')) > before, 'the subscription started'));
  return recording;
}

async function query<T>(host: GraphQLHost, text: string, variables: Record<string, unknown> = {}): Promise<FormattedExecutionResult<T>> {
  const response = await fetch(host.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...identityHeaders() },
    body: JSON.stringify({ query: text, variables }),
  });
  return (await response.json()) as FormattedExecutionResult<T>;
}

async function metric(host: GraphQLHost, name: string): Promise<number> {
  const text = await (await fetch(`${host.opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

/** Resolves once the assertion-style `check` passes; in-process, so 10 s is generous. */
const eventually = (check: () => unknown, what = 'the condition'): Promise<void> =>
  waitFor(async () => void (await check()), 10_000, `${what} was not reached`);

const publish = (eventLog: MemoryEventLog, ...events: OrderEvent[]) => eventLog.publish(ORDERS_TOPIC, events.map(encodeOrderEvent));
const placed = (orderId: string, customerId: string) =>
  orderEvent('OrderPlaced', orderId, { customerId, lines: [{ productId: 'p1', quantity: 1, unitPriceCents: 500 }] });
const summary = (events: Delivered[]) => events.map((e) => `${e.order.id}:${e.type}:${e.order.version}`);

// A failed test must not leave subscriptions behind for the next one to count.
afterEach(() => {
  for (const recording of [...open]) recording.unsubscribe();
});

describe('the orderEvents subscription over graphql-ws', () => {
  let eventLog: MemoryEventLog;
  let host: GraphQLHost;
  let client: Client;

  before(async () => {
    eventLog = new MemoryEventLog({ partitions: { [ORDERS_TOPIC]: 6 } });
    host = await startOrders(eventLog);
    client = connect(host);
  });

  after(async () => {
    await client?.dispose();
    await host?.stop();
    await eventLog?.close();
  });

  test('delivers each applied event, and a query right after it sees at least that version', async () => {
    const customerId = `c-${randomUUID()}`;
    const recording = await subscribed(host, client, { customerId }, host);
    const orderId = `o-${randomUUID()}`;
    await publish(eventLog, placed(orderId, customerId));
    const events = await recording.until(3); // fulfillment pays and ships it
    assert.deepEqual(summary(events), [`${orderId}:PLACED:1`, `${orderId}:PAID:2`, `${orderId}:SHIPPED:3`]);
    assert.deepEqual(
      events.map((e) => e.order.status),
      ['PLACED', 'PAID', 'SHIPPED'],
    );
    assert.ok(events.every((e) => !Number.isNaN(Date.parse(e.occurredAt))));
    assert.equal(new Set(events.map((e) => e.cursor)).size, 3);
    await eventually(() => assert.equal(recording.queried.length, 3));
    for (const { event, version } of recording.queried)
      assert.ok(version !== undefined && version >= event.order.version, `query saw ${version} after ${event.type}`);
    recording.unsubscribe();
  });

  test('resumes after a cursor: the events after it, then live ones, none twice', async () => {
    const customerId = `c-${randomUUID()}`;
    const first = await subscribed(host, client, { customerId });
    const orderId = `o-${randomUUID()}`;
    await publish(eventLog, placed(orderId, customerId));
    const [placedEvent] = await first.until(3);
    first.unsubscribe();
    const resumed = await subscribed(host, client, { customerId, after: placedEvent!.cursor });
    const later = `o-${randomUUID()}`;
    await publish(eventLog, placed(later, customerId));
    const events = await resumed.until(5);
    assert.deepEqual(summary(events), [
      `${orderId}:PAID:2`,
      `${orderId}:SHIPPED:3`,
      `${later}:PLACED:1`,
      `${later}:PAID:2`,
      `${later}:SHIPPED:3`,
    ]);
    await quietPeriod(150); // anything repeated would arrive by now
    assert.equal(resumed.events.length, 5, 'nothing repeated');
    resumed.unsubscribe();
  });

  test('filters by customer and by event type', async () => {
    const mine = `c-${randomUUID()}`;
    const theirs = `c-${randomUUID()}`;
    const shipments = await subscribed(host, client, { customerId: mine, types: ['SHIPPED'] });
    const theirShipments = await subscribed(host, client, { customerId: theirs, types: ['SHIPPED'] });
    const a = `o-${randomUUID()}`;
    const b = `o-${randomUUID()}`;
    await publish(eventLog, placed(b, theirs), placed(a, mine));
    const events = await shipments.until(1);
    await theirShipments.until(1); // the other order ships too
    await quietPeriod(100); // had it been delivered to `shipments` as well, it would be there by now
    theirShipments.unsubscribe();
    assert.deepEqual(summary(shipments.events), [`${a}:SHIPPED:3`]);
    assert.equal(events.length, 1);
    shipments.unsubscribe();
  });

  for (const [name, after, code] of [
    ['a cursor that cannot be decoded', 'not-a-cursor!', ErrorCode.INVALID_CURSOR],
    ['a cursor naming more partitions than the topic has', Buffer.from('v1:0,0,0,0,0,0,0').toString('base64url'), ErrorCode.INVALID_CURSOR],
    ['a cursor ahead of the log', Buffer.from('v1:1000000').toString('base64url'), ErrorCode.INVALID_CURSOR],
  ] as const) {
    test(`answers ${name} with a ${code} error result, and the socket stays usable`, async () => {
      const refused = new Recording(client, { after });
      await eventually(() => assert.ok(refused.completed));
      assert.equal(refused.results.length, 1);
      const [error] = refused.results[0]!.errors ?? [];
      assert.equal(error?.extensions?.['code'], code);
      assert.deepEqual(error?.path, ['orderEvents']);
      assert.equal(refused.error, undefined);
      assert.deepEqual((await query(host, '{ orders(first: 1) { id } }')).errors, undefined);
      const customerId = `c-${randomUUID()}`;
      const working = await subscribed(host, client, { customerId });
      await publish(eventLog, placed(`o-${randomUUID()}`, customerId));
      await working.until(1);
      working.unsubscribe();
    });
  }

  test('a subscriber that sends extensions.resumable gets its start checkpoint first, then events carrying their position', async () => {
    const customerId = `c-${randomUUID()}`;
    const recording = await subscribed(host, client, { customerId }, undefined, { resumable: { after: null } });
    await eventually(() => assert.ok(recording.results.length >= 1));
    const start = recording.results[0]!;
    assert.deepEqual(Object.keys(start), ['extensions'], 'a checkpoint has no data and no errors');
    const checkpoint = readStreamPosition(start);
    assert.equal(checkpoint?.checkpoint, true);
    assert.equal(typeof checkpoint?.lag?.stale, 'boolean');
    assert.equal(decodeCursor(checkpoint!.position).length, 6);
    await publish(eventLog, placed(`o-${randomUUID()}`, customerId));
    await recording.until(3);
    const events = recording.results.filter((r) => r.data);
    assert.deepEqual(
      events.map((r) => readStreamPosition(r)?.position),
      events.map((r) => r.data!.orderEvents.cursor),
    );
    const vectors = recording.positions.map((p) => decodeCursor(p.position));
    vectors.slice(1).forEach((vector, i) =>
      assert.ok(
        vector.every((offset, partition) => offset >= vectors[i]![partition]!),
        `went back: ${vectors[i]!.join(',')} -> ${vector.join(',')}`,
      ),
    );
    recording.unsubscribe();
  });

  test('extensions.resumable wins over the `after` argument', async () => {
    const customerId = `c-${randomUUID()}`;
    const first = await subscribed(host, client, { customerId });
    const orderId = `o-${randomUUID()}`;
    await publish(eventLog, placed(orderId, customerId));
    const [placedEvent] = await first.until(3);
    first.unsubscribe();
    // A bad argument is ignored when the extension says where to start ...
    const resumed = await subscribed(host, client, { customerId, after: 'not-a-cursor!' }, undefined, {
      resumable: { after: placedEvent!.cursor },
    });
    assert.deepEqual(summary(await resumed.until(2)), [`${orderId}:PAID:2`, `${orderId}:SHIPPED:3`]);
    resumed.unsubscribe();
    // ... and a good one too: `after: null` starts live.
    const live = await subscribed(host, client, { customerId, after: placedEvent!.cursor }, undefined, { resumable: { after: null } });
    await eventually(() => assert.ok(live.results.length >= 1));
    await quietPeriod(150); // a replay would arrive by now
    assert.deepEqual(live.events, []);
    live.unsubscribe();
  });

  test('a bounded replay (extensions.resumable.until) delivers the events below `until`, then completes', async () => {
    const customerId = `c-${randomUUID()}`;
    const first = await subscribed(host, client, { customerId });
    const orderId = `o-${randomUUID()}`;
    await publish(eventLog, placed(orderId, customerId));
    const [placedEvent, , shippedEvent] = await first.until(3);
    first.unsubscribe();
    const replay = await subscribed(host, client, { customerId }, undefined, {
      resumable: { after: placedEvent!.cursor, until: shippedEvent!.cursor },
    });
    await eventually(() => assert.ok(replay.completed));
    assert.deepEqual(summary(replay.events), [`${orderId}:PAID:2`, `${orderId}:SHIPPED:3`]);
    assert.equal(replay.positions.at(-1)?.position, shippedEvent!.cursor);
    assert.equal(replay.error, undefined);
  });

  for (const [name, resumable, code] of [
    ['a malformed extensions.resumable', 'from the start', ErrorCode.BAD_REQUEST],
    ['an `after` that is not a position', { after: 'not-a-cursor!' }, ErrorCode.INVALID_CURSOR],
    ['an `until` that is not a position', { after: null, until: 'not-a-cursor!' }, ErrorCode.INVALID_CURSOR],
  ] as const) {
    test(`answers ${name} with a ${code} error result`, async () => {
      const refused = new Recording(client, {}, undefined, { resumable });
      await eventually(() => assert.ok(refused.completed));
      assert.equal(refused.results.length, 1);
      assert.equal(refused.results[0]!.errors?.[0]?.extensions?.['code'], code);
      assert.equal(refused.error, undefined);
    });
  }

  test('counts subscriptions in /metrics and releases them when clients complete or go away', async () => {
    await eventually(async () => assert.equal(await metric(host, 'orders_subscriptions_active'), 0));
    const started = await metric(host, 'orders_subscriptions_started_total');
    const other = connect(host);
    const a = await subscribed(host, client, {});
    const b = await subscribed(host, other, { types: ['PAID'] });
    await eventually(async () => assert.equal(await metric(host, 'orders_subscriptions_active'), 2));
    assert.equal(await metric(host, 'orders_subscriptions_started_total'), started + 2);
    a.unsubscribe();
    await eventually(async () => assert.equal(await metric(host, 'orders_subscriptions_active'), 1));
    await other.dispose(); // the socket closes
    await eventually(async () => assert.equal(await metric(host, 'orders_subscriptions_active'), 0));
    assert.equal(b.error, undefined);
    const readiness = (await (await fetch(`${host.opsUrl}/readyz`)).json()) as { journal: { events: number; followers: number } };
    assert.equal(readiness.journal.followers, 0);
    assert.ok(readiness.journal.events > 0);
  });
});

describe('the orderEvents subscription across a restart and for a slow client', () => {
  let eventLog: MemoryEventLog;
  const started: { host: GraphQLHost; client: Client }[] = [];

  before(() => {
    eventLog = new MemoryEventLog({ partitions: { [ORDERS_TOPIC]: 6 } });
  });

  after(async () => {
    for (const { host, client } of started) {
      await client.dispose();
      await host.stop();
    }
    await eventLog?.close();
  });

  const start = async (settings: Record<string, string> = {}) => {
    const host = await startOrders(eventLog, settings);
    const client = connect(host);
    started.push({ host, client });
    return { host, client };
  };

  test('a cursor stays valid after the subgraph restarts and rebuilds its projection', async () => {
    const customerId = `c-${randomUUID()}`;
    const orderIds = [0, 1, 2, 3].map(() => `o-${randomUUID()}`);
    const first = await start();
    const before = await subscribed(first.host, first.client, { customerId });
    await publish(eventLog, ...orderIds.slice(0, 3).map((id) => placed(id, customerId)));
    const seen = await before.until(9);
    const cursor = seen[2]!.cursor; // after the three OrderPlaced and whatever else was applied by then
    const expected = seen.slice(3).map((e) => `${e.order.id}:${e.type}:${e.order.version}`);
    await first.client.dispose();
    await first.host.stop();

    // While it is down, one more order is placed.
    await publish(eventLog, placed(orderIds[3]!, customerId));
    const second = await start();
    const resumed = await subscribed(second.host, second.client, { customerId, after: cursor });
    const events = await resumed.until(expected.length + 3);
    await quietPeriod(150); // anything more would arrive by now
    // The rebuilt projection may interleave partitions differently: the same events, each order in its order.
    const missed = [`${orderIds[3]}:PLACED:1`, `${orderIds[3]}:PAID:2`, `${orderIds[3]}:SHIPPED:3`];
    assert.deepEqual(summary(resumed.events).sort(), [...expected, ...missed].sort());
    for (const id of orderIds) {
      const versions = events.filter((e) => e.order.id === id).map((e) => e.order.version);
      assert.deepEqual(versions, [...versions].sort(), `order ${id} in event order`);
    }
    resumed.unsubscribe();
  });

  test('answers extensions.resumable with a position whose events are gone with a CURSOR_EXPIRED error result', async () => {
    const { host, client } = await start({ JOURNAL_MAX_EVENTS: '2', EMBEDDED_FULFILLMENT: 'false' });
    const customerId = `c-${randomUUID()}`;
    const watching = await subscribed(host, client, { customerId });
    // One order, so one partition: more events than its share of the journal.
    const orderId = `o-${randomUUID()}`;
    await publish(
      eventLog,
      placed(orderId, customerId),
      orderEvent('OrderPaid', orderId, { amountCents: 500 }),
      orderEvent('OrderShipped', orderId, { carrier: 'x' }),
    );
    await watching.until(3);
    watching.unsubscribe();
    const zero = Buffer.from('v1:0,0,0,0,0,0').toString('base64url');
    const refused = new Recording(client, {}, undefined, { resumable: { after: zero } });
    await eventually(() => assert.ok(refused.completed));
    assert.equal(refused.results[0]?.errors?.[0]?.extensions?.['code'], ErrorCode.CURSOR_EXPIRED);
  });

  test('ends a subscription that falls behind with a SUBSCRIBER_TOO_SLOW error result naming the last delivered cursor', async () => {
    const { host, client } = await start({ SUBSCRIPTION_BUFFER_EVENTS: '1', EMBEDDED_FULFILLMENT: 'false' });
    const customerId = `c-${randomUUID()}`;
    const slow = await subscribed(host, client, { customerId });
    const orderId = `o-${randomUUID()}`;
    // One key, one partition, one batch: applied in one go, faster than any client reads.
    await publish(
      eventLog,
      placed(orderId, customerId),
      orderEvent('OrderPaid', orderId, { amountCents: 500 }),
      orderEvent('OrderShipped', orderId, { carrier: 'x' }),
    );
    await eventually(() => assert.ok(slow.completed));
    const [delivered] = slow.events;
    assert.equal(slow.events.length, 1);
    const failure = slow.results.at(-1)!;
    assert.equal(failure.data, null);
    const [error] = failure.errors ?? [];
    assert.equal(error?.extensions?.['code'], ErrorCode.SUBSCRIBER_TOO_SLOW);
    assert.equal(error?.extensions?.['lastDeliveredCursor'], delivered!.cursor);
    assert.equal(await metric(host, 'orders_subscriptions_active'), 0);
    // Resuming from the cursor it names loses nothing.
    const resumed = await subscribed(host, client, { customerId, after: delivered!.cursor });
    assert.deepEqual(summary(await resumed.until(2)), [`${orderId}:PAID:2`, `${orderId}:SHIPPED:3`]);
    resumed.unsubscribe();
  });
});
