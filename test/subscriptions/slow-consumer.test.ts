/**
 * A client that stops reading is cut off with SUBSCRIBER_TOO_SLOW, naming the last cursor it was
 * given, while a fast subscriber of the same shared subscription receives every event; the slow
 * client can resume from that cursor without a gap.
 *
 * Stalling a socket on loopback: the slow client pauses its TCP socket, so the gateway's writes
 * pile up in the kernel (the client's receive buffer and the gateway's send buffer, which Linux
 * grows to ~4 MB) before they reach the gateway's per-subscriber buffer. Measured here: ~3.8 MB,
 * i.e. ~20 000 events of ~190 bytes for one subscription. So the slow client holds
 * SLOW_SUBSCRIPTIONS subscriptions of the same operation, each event crossing its socket that
 * many times: it is cut off after ~400 events plus its buffer.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { orderStream } from '../kafka/order-stream.ts';
import { runProducer, type ProducerRun } from '../kafka/orders-support.ts';
import { waitFor } from '../support/wait.ts';
import {
  ORDER_EVENTS,
  ProtocolClient,
  metric,
  startExtraGateway,
  startSubscriptionSystem,
  untilGatewayStats,
  type NextPayload,
  type OrderEventResult,
  type SubscriptionSystem,
  SYSTEM_START,
} from './support.ts';
import { Cleanups } from '../kafka/orders-support.ts';

/** Room for a loaded machine: these tests wait on processes, each wait up to 60-120 s. */
const SYSTEM_TEST = { timeout: 600_000 };

/** The gateway's SUBSCRIPTION_BUFFER_EVENTS here: small, so the slow client is cut off soon. */
const BUFFER = 20;
/**
 * The gateway ends a socket that does not answer a WebSocket ping within its keep-alive interval
 * (12 s by default), and a paused socket answers none. The gateway is asked for a keep-alive far
 * longer than any wait here (WEBSOCKET_KEEP_ALIVE_MS).
 */
const KEEP_ALIVE_MS = 600_000;
const SLOW_SUBSCRIPTIONS = 50;
/** ~1040 events: the slow client is cut off after ~600, the fast one gets them all. */
const RUN: ProducerRun = { orders: 400, seed: 51, prefix: 'slow' };

const slowIds = Array.from({ length: SLOW_SUBSCRIPTIONS }, (_, i) => `slow-${i}`);
const tcpSocket = (client: ProtocolClient) => (client.socket as unknown as { _socket: Socket })._socket;

describe('a slow consumer of a shared subscription', () => {
  let sys: SubscriptionSystem;
  /** What the fast subscriber received: every event, in order. */
  let everyEvent: NextPayload<OrderEventResult>[] = [];
  /** The cursor the slow client was told to resume from. */
  let resumeFrom: string | undefined;

  // Whatever the system start got to is stopped, even when the start fails or times out.
  const cleanups = new Cleanups();
  after(() => cleanups.run());
  before(async () => {
    sys = await startSubscriptionSystem(
      { SUBSCRIPTION_BUFFER_EVENTS: String(BUFFER), WEBSOCKET_KEEP_ALIVE_MS: String(KEEP_ALIVE_MS) },
      cleanups,
    );
  }, SYSTEM_START);
  after(async () => {
    await sys?.stop();
  });

  test(
    'is cut off with SUBSCRIBER_TOO_SLOW naming its last delivered cursor, while a fast subscriber receives every event',
    SYSTEM_TEST,
    async (t) => {
      const events = orderStream(RUN.orders, RUN.seed, RUN.prefix).length;
      const connected: ProtocolClient[] = [];
      t.after(() => Promise.all(connected.map((c) => c.close())));
      const fast = await ProtocolClient.connect(sys.wsUrl, sys.auth);
      connected.push(fast);
      const slow = await ProtocolClient.connect(sys.wsUrl, sys.auth);
      connected.push(slow);
      const active = await metric(sys.ordersOpsUrl, 'orders_subscriptions_active');
      fast.subscribe('fast', ORDER_EVENTS);
      for (const id of slowIds) slow.subscribe(id, ORDER_EVENTS);
      await untilGatewayStats(sys.gatewayOpsUrl, { shared: 1, subscribers: 1 + SLOW_SUBSCRIPTIONS });
      await waitFor(
        async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === active + 1,
        60_000,
        'the upstream subscription never opened',
        100,
      );

      // Stop reading until the gateway has cut the slow subscriptions off (see KEEP_ALIVE_MS).
      const slowSocket = tcpSocket(slow);
      slowSocket.pause();
      t.after(() => void slowSocket.resume());
      const paused = performance.now();
      assert.equal(await runProducer(t, sys.brokers, RUN), events);
      await untilGatewayStats(sys.gatewayOpsUrl, { shared: 1, subscribers: 1 }, 120_000);
      const cutAfter = fast.nexts('fast').length;
      const cutMs = performance.now() - paused;
      slowSocket.resume();
      await waitFor(() => fast.nexts('fast').length >= events, 120_000, `the fast subscriber did not receive all ${events} events`, 100);
      const completed = (id: string) => slow.messages.some((m) => m.id === id && m.type === 'complete');
      await waitFor(() => slowIds.every(completed) || !slow.open, 60_000, 'the slow subscriptions did not complete', 100);
      if (!slow.open) {
        assert.fail(
          `the gateway closed the paused socket ${JSON.stringify(await slow.closed)} (its keep-alive, if the pause took long: ${Math.round(cutMs)} ms; see KEEP_ALIVE_MS)`,
        );
      }
      t.diagnostic(`slow client cut off ${Math.round(cutMs)} ms after it paused, when the fast one had ${cutAfter} of ${events} events`);

      everyEvent = fast.nexts<OrderEventResult>('fast');
      assert.equal(everyEvent.length, events);
      assert.deepEqual(
        everyEvent.filter((p) => p.errors !== undefined),
        [],
      );
      assert.equal(fast.messages.filter((m) => m.type !== 'next').length, 0);

      let held = 0;
      for (const id of slowIds) {
        const payloads = slow.nexts<OrderEventResult>(id);
        const last = payloads.at(-1)!;
        const delivered = payloads.slice(0, -1);
        held += delivered.reduce((n, p) => n + JSON.stringify({ id, type: 'next', payload: p }).length, 0);
        // What it got is the start of the stream, nothing skipped, then the error naming where it stopped.
        assert.ok(delivered.length > 0 && delivered.length < events - BUFFER, `${id} got ${delivered.length} events`);
        assert.deepEqual(delivered, everyEvent.slice(0, delivered.length));
        const lastDeliveredCursor = delivered.at(-1)!.data!.orderEvents.cursor;
        assert.deepEqual(last, {
          errors: [
            {
              message: `subscriber fell more than ${BUFFER} events behind; subscription ended; resume with after: "${lastDeliveredCursor}"`,
              extensions: { code: 'SUBSCRIBER_TOO_SLOW', lastDeliveredCursor },
            },
          ],
        });
        // Then complete, and nothing after it.
        assert.deepEqual(slow.messages.filter((m) => m.id === id).slice(-2), [
          { id, type: 'next', payload: last },
          { id, type: 'complete' },
        ]);
      }
      t.diagnostic(`the kernel held ~${Math.round(held / 1024)} KiB of the slow client's events while it did not read`);
      resumeFrom = (slow.nexts<OrderEventResult>(slowIds[0]!).at(-1)!.errors![0]!.extensions as { lastDeliveredCursor: string })
        .lastDeliveredCursor;
      assert.equal(slow.open, true);
      await slow.ping();
    },
  );

  test('resuming with after: lastDeliveredCursor delivers exactly the events it missed', SYSTEM_TEST, async (t) => {
    assert.ok(resumeFrom, 'needs the previous test');
    const client = await ProtocolClient.connect(sys.wsUrl, sys.auth);
    t.after(() => client.close());
    client.subscribe(
      'resume',
      'subscription Resume($after: String) { orderEvents(after: $after) { cursor type order { id status customer { name } } } }',
      { after: resumeFrom },
    );
    const missed = everyEvent.slice(everyEvent.findIndex((p) => p.data!.orderEvents.cursor === resumeFrom) + 1);
    assert.ok(missed.length > BUFFER);
    await waitFor(
      () => client.nexts('resume').length >= missed.length,
      120_000,
      `the resumed subscription did not replay ${missed.length} events`,
      25,
    );
    // Events only: live results may also carry the stream's status (extensions.stream) while the projection catches up.
    const events = (payloads: NextPayload<OrderEventResult>[]) => payloads.map((p) => ({ data: p.data, errors: p.errors }));
    assert.deepEqual(events(client.nexts('resume')), events(missed));
  });

  test('a subscriber that keeps reading is not cut off when events arrive in bursts larger than a buffer of 20', SYSTEM_TEST, async (t) => {
    const gateway = await startExtraGateway(sys, { SUBSCRIPTION_BUFFER_EVENTS: '20' }, t);
    const client = await ProtocolClient.connect(gateway.wsUrl, sys.auth);
    t.after(() => client.close());
    const active = await metric(sys.ordersOpsUrl, 'orders_subscriptions_active');
    client.subscribe('reader', ORDER_EVENTS);
    await untilGatewayStats(gateway.opsUrl, { shared: 1, subscribers: 1 });
    await waitFor(
      async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === active + 1,
      60_000,
      'the upstream subscription never opened',
      100,
    );
    const run: ProducerRun = { orders: 400, seed: 52, prefix: 'bursts' };
    const events = await runProducer(t, sys.brokers, run);
    await waitFor(
      () => client.nexts('reader').length >= events || client.messages.some((m) => m.type === 'complete'),
      120_000,
      'the reader got neither every event nor complete',
      100,
    );
    assert.deepEqual(
      client.nexts('reader').filter((p) => p.errors !== undefined),
      [],
    );
    assert.equal(client.nexts('reader').length, events);
  });
});
