/**
 * Resumable streams through a gateway whose link to the orders subgraph goes through a relay the
 * test can cut: the gateway reopens its upstream stream from its position (clients notice nothing
 * but RECONNECTING), and clients resuming with `after` share one live upstream stream, each after
 * a private replay, with no gap and no duplicate against a reference subscriber that was never
 * disturbed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runProducer, Cleanups } from '../kafka/orders-support.ts';
import { startRelay, type Relay } from '../support/relay.ts';
import { waitFor } from '../support/wait.ts';
import {
  ProtocolClient,
  SYSTEM_START,
  closeAll,
  gatewayStats,
  startExtraGateway,
  startSubscriptionSystem,
  type ExtraGateway,
  type NextPayload,
  type OrderEventResult,
  type SubscriptionSystem,
} from './support.ts';

const SYSTEM_TEST = { timeout: 600_000 };

/** The client's operation declares `$after`: the gateway must never rewrite it (it used to, and then the subgraph refused it). */
const RESUMABLE =
  'subscription Events($after: String) { orderEvents(after: $after) { cursor type order { id status customer { name } } } }';

const ids = (payloads: NextPayload<OrderEventResult>[]) => payloads.map((p) => p.data!.orderEvents.cursor);
const events = (client: ProtocolClient, id: string) => client.nexts<OrderEventResult>(id).filter((p) => p.data);

describe('resumable streams through the gateway', () => {
  let sys: SubscriptionSystem;
  let relay: Relay;
  let gateway: ExtraGateway;
  /** Subscribed on the system's own gateway, never disturbed: every event, in order. */
  let reference: ProtocolClient;
  const clients: ProtocolClient[] = [];
  const connect = async (url: string) => {
    const client = await ProtocolClient.connect(url, sys.auth);
    clients.push(client);
    return client;
  };

  const cleanups = new Cleanups();
  after(() => cleanups.run());
  before(async () => {
    sys = await startSubscriptionSystem({}, cleanups);
    const { subgraphs } = (await (await fetch(`${sys.gatewayOpsUrl}/readyz`)).json()) as { subgraphs: { name: string; url: string }[] };
    const orders = new URL(subgraphs.find((s) => s.name === 'orders')!.url);
    relay = await startRelay(Number(orders.port));
    cleanups.after(() => relay.close());
    const urls = subgraphs.map((s) => `${s.name}=${s.name === 'orders' ? `http://127.0.0.1:${relay.port}/graphql` : s.url}`);
    gateway = await startExtraGateway(sys, { SUBGRAPH_URLS: urls.join(','), UPSTREAM_RECOVERY_MS: '120000' }, cleanups);
    reference = await connect(sys.wsUrl);
    reference.subscribe('ref', RESUMABLE, {});
    await waitFor(async () => (await gatewayStats(sys.gatewayOpsUrl)).subscribers === 1, 60_000, 'the reference never subscribed');
  }, SYSTEM_START);
  after(() => closeAll(clients));

  test(
    'a lost upstream link is reopened from the position: no error, no gap, no duplicate; status says RECONNECTING',
    SYSTEM_TEST,
    async (t) => {
      const client = await connect(gateway.wsUrl);
      client.subscribe('events', RESUMABLE, { after: null });
      client.send({ id: 'status', type: 'subscribe', payload: { query: RESUMABLE, extensions: { stream: { status: true } } } });
      const status = () =>
        client
          .nexts('status')
          .filter((p) => !p.data)
          .map((p) => (p as { extensions?: { stream?: Record<string, unknown> } }).extensions?.stream);
      await waitFor(() => status().some((s) => typeof s?.['position'] === 'string'), 60_000, 'no position before the first event');
      const opened = (await gatewayStats(gateway.opsUrl)).upstreamOpened;

      // Cut while events flow, then publish more once the gateway has reopened its stream.
      const producing = runProducer(t, sys.brokers, { orders: 40, seed: 71, prefix: 'cut', rate: 100 });
      await waitFor(() => events(client, 'events').length >= 10, 120_000, 'no events before the cut');
      relay.cut();
      await producing;
      await waitFor(async () => (await gatewayStats(gateway.opsUrl)).upstreamOpened > opened, 60_000, 'the stream was never reopened');
      await runProducer(t, sys.brokers, { orders: 5, seed: 73, prefix: 'after-cut' });
      await waitFor(
        () => ids(events(client, 'events')).length === ids(events(reference, 'ref')).length,
        120_000,
        'the client never caught up with the reference',
        100,
      );
      assert.deepEqual(ids(events(client, 'events')), ids(events(reference, 'ref')));
      assert.deepEqual(
        client.nexts('events').filter((p) => p.errors),
        [],
      );
      assert.ok(
        status().some((s) => s?.['reason'] === 'RECONNECTING'),
        JSON.stringify(status()),
      );
      await waitFor(() => status().at(-1)?.['lagging'] === false, 60_000, `the stream never caught up: ${JSON.stringify(status().at(-1))}`);
    },
  );

  test('clients resuming from different positions share one live upstream and each gets exactly what it missed', SYSTEM_TEST, async (t) => {
    const seen = ids(events(reference, 'ref'));
    assert.ok(seen.length > 20, 'needs the previous test');
    const resumers = await connect(gateway.wsUrl);
    const starts = [0, 3, 7, 12, 20, seen.length - 1];
    starts.forEach((at, i) => resumers.subscribe(`r${i}`, RESUMABLE, { after: seen[at] }));
    starts.forEach((at, i) =>
      resumers.subscribe(
        `l${i}`,
        `subscription Events { orderEvents(after: "${seen[at]}") { cursor type order { id status customer { name } } } }`,
      ),
    );
    await waitFor(async () => (await gatewayStats(gateway.opsUrl)).subscribers >= 2 + 2 * starts.length, 60_000, 'never subscribed');
    assert.equal((await gatewayStats(gateway.opsUrl)).shared, 1, 'every client of the operation shares one stream');

    await runProducer(t, sys.brokers, { orders: 10, seed: 72, prefix: 'storm' });
    const all = () => ids(events(reference, 'ref'));
    // Assertion-style: past the deadline, the failure names each client that differs and how.
    const differences = () =>
      starts.flatMap((at, i) =>
        [`r${i}`, `l${i}`].flatMap((id) => {
          const got = ids(events(resumers, id));
          const want = all().slice(at + 1);
          const first = want.findIndex((cursor, k) => got[k] !== cursor);
          if (first === -1 && got.length === want.length) return [];
          const k = first === -1 ? want.length : first;
          const failed = resumers.nexts(id).filter((p) => p.errors);
          const errors = failed.length > 0 ? ` (${failed.length} results with errors, first: ${JSON.stringify(failed[0]!.errors)})` : '';
          return [
            `${id} (after #${at}): ${got.length} of ${want.length}${errors}, first difference at ${k}: got ${got[k]}, want ${want[k]}`,
          ];
        }),
      );
    await waitFor(
      () => {
        const found = differences();
        if (found.length > 0) throw new Error(`${found.join('; ')} (reference: ${all().length})`);
      },
      120_000,
      'a resumed client never caught up with the reference',
      100,
    );
    assert.deepEqual(
      starts.flatMap((_, i) => [...resumers.nexts(`r${i}`), ...resumers.nexts(`l${i}`)].flatMap((p) => p.errors ?? [])),
      [],
    );
  });
});
