/**
 * The edge's caps, each at and over its setting (2 here): WebSockets per client (close 4429 at
 * connection_init), operations per socket and distinct upstream subscriptions per client (the
 * operation gets CAPACITY_EXCEEDED), open SSE streams and reservations (503); and reservations that
 * are never streamed expire, releasing what was posted to them. Each test is its own client (its
 * own loopback address).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ProtocolClient, closeAll, type NextPayload } from '../subscriptions/support.ts';
import { waitFor } from '../support/wait.ts';
import {
  TICKS,
  openStream,
  send,
  startEdgeGateway,
  startTicksSubgraph,
  type EdgeGateway,
  type OpenStream,
  type TicksSubgraph,
} from './support.ts';

const TEST = { timeout: 120_000 };
const CAP = 2;
const TOKEN_HEADER = 'x-graphql-event-stream-token';

interface ErrorShape {
  message: string;
  extensions?: Record<string, unknown>;
}

/** Opens a socket from `from` and sends connection_init: 'ack', or how the socket was closed. */
async function tryConnect(url: string, from: string): Promise<{ client: ProtocolClient; close?: { code: number; reason: string } }> {
  const client = await ProtocolClient.open(url, undefined, undefined, { localAddress: from });
  client.send({ type: 'connection_init' });
  await waitFor(() => client.messages.some((m) => m.type === 'connection_ack') || !client.open, 30_000, 'no ack and no close');
  return client.open ? { client } : { client, close: await client.closed };
}

function assertCapacityExceeded(error: ErrorShape | undefined, limit: string): void {
  assert.equal(error?.extensions?.['code'], 'CAPACITY_EXCEEDED', JSON.stringify(error));
  assert.equal(error?.extensions?.['limit'], limit);
  assert.equal(error?.extensions?.['max'], CAP);
}

describe('caps', () => {
  let subgraph: TicksSubgraph;
  let gateway: EdgeGateway;
  let streamUrl: string;

  before(async () => {
    subgraph = await startTicksSubgraph();
    gateway = await startEdgeGateway(subgraph, {
      MAX_WEBSOCKETS_PER_CLIENT: String(CAP),
      MAX_SUBSCRIPTIONS_PER_SOCKET: String(CAP),
      MAX_UPSTREAM_SUBSCRIPTIONS_PER_CLIENT: String(CAP),
      MAX_SSE_STREAMS: String(CAP),
      MAX_SSE_RESERVATIONS: String(CAP),
      SSE_RESERVATION_TTL_MS: '600000',
    });
    streamUrl = `${gateway.baseUrl}/graphql/stream`;
  }, TEST);
  after(async () => {
    await gateway?.stop();
    await subgraph?.stop();
  });

  test(
    'WebSockets per client: the third is closed with 4429 CAPACITY_EXCEEDED at connection_init; others connect; closing one makes room',
    TEST,
    async (t) => {
      const clients: ProtocolClient[] = [];
      t.after(() => closeAll(clients));
      for (let i = 0; i < CAP; i++) {
        const { client, close } = await tryConnect(gateway.wsUrl, '127.0.1.1');
        clients.push(client);
        assert.equal(close, undefined, `socket ${i + 1} of ${CAP} is acknowledged`);
      }
      const over = await tryConnect(gateway.wsUrl, '127.0.1.1');
      assert.equal(over.close?.code, 4429);
      assert.match(over.close?.reason ?? '', /^CAPACITY_EXCEEDED: /);
      const elsewhere = await tryConnect(gateway.wsUrl, '127.0.1.2');
      clients.push(elsewhere.client);
      assert.equal(elsewhere.close, undefined, 'another client is not affected');

      await clients[0]!.close();
      let again: Awaited<ReturnType<typeof tryConnect>> | undefined;
      await waitFor(
        async () => {
          again = await tryConnect(gateway.wsUrl, '127.0.1.1');
          return again.close === undefined;
        },
        30_000,
        'no room after a socket closed',
      );
      clients.push(again!.client);
      assert.ok((await gateway.refusals('websocketsPerClient')) >= 1);
    },
  );

  test('operations per socket: the third gets CAPACITY_EXCEEDED and the socket stays open; completing one makes room', TEST, async (t) => {
    const client = await ProtocolClient.connect(gateway.wsUrl, undefined, { localAddress: '127.0.1.3' });
    t.after(() => client.close());
    client.subscribe('a', TICKS, { topic: 'per-socket' });
    client.subscribe('b', TICKS, { topic: 'per-socket' });
    client.subscribe('c', TICKS, { topic: 'per-socket' });
    const refused = await client.take((m) => m.id === 'c' && m.type === 'error', 'the error of the third subscription');
    assertCapacityExceeded((refused.payload as ErrorShape[])[0], 'subscriptionsPerSocket');
    await client.ping();

    client.send({ type: 'complete', id: 'a' });
    await waitFor(async () => (await gateway.subscriptions()).subscribers === 1, 30_000, 'the completed subscription was not released');
    client.subscribe('d', TICKS, { topic: 'per-socket' });
    await waitFor(async () => (await gateway.subscriptions()).subscribers === 2, 30_000, 'the fourth subscription did not start');
    await waitFor(() => subgraph.listeners('per-socket') === 1, 30_000, 'no upstream subscription');
    subgraph.tick('per-socket', 1);
    await waitFor(() => client.nexts('d').length === 1 && client.nexts('b').length === 1, 30_000, 'b and d did not both get the event');
    assert.equal(client.messages.filter((m) => m.type === 'error').length, 0);
    client.send({ type: 'complete', id: 'b' });
    client.send({ type: 'complete', id: 'd' });
    await waitFor(async () => (await gateway.subscriptions()).shared === 0, 30_000, 'subscriptions not released');
  });

  test(
    'distinct upstream subscriptions per client: the third gets CAPACITY_EXCEEDED, on any of its sockets; joining one it holds, or another client, is fine',
    TEST,
    async (t) => {
      const first = await ProtocolClient.connect(gateway.wsUrl, undefined, { localAddress: '127.0.1.4' });
      const second = await ProtocolClient.connect(gateway.wsUrl, undefined, { localAddress: '127.0.1.4' });
      const other = await ProtocolClient.connect(gateway.wsUrl, undefined, { localAddress: '127.0.1.5' });
      t.after(() => closeAll([first, second, other]));
      first.subscribe('u1', TICKS, { topic: 'u1' });
      first.subscribe('u2', TICKS, { topic: 'u2' });
      await waitFor(async () => (await gateway.subscriptions()).shared === 2, 30_000, 'two upstream subscriptions');
      second.subscribe('u3', TICKS, { topic: 'u3' });
      const refused = await second.take((m) => m.id === 'u3' && m.type === 'next', 'the refusal of the third');
      assertCapacityExceeded((refused.payload as NextPayload).errors?.[0], 'upstreamSubscriptionsPerClient');
      await second.take((m) => m.id === 'u3' && m.type === 'complete', 'complete of the refused subscription');

      second.subscribe('u1-again', TICKS, { topic: 'u1' });
      other.subscribe('u3', TICKS, { topic: 'u3' });
      await waitFor(async () => (await gateway.subscriptions()).subscribers === 4, 30_000, 'the join and the other client did not start');
      assert.equal((await gateway.subscriptions()).shared, 3);
      await waitFor(() => subgraph.listeners('u1') === 1 && subgraph.listeners('u3') === 1, 30_000, 'no upstream subscriptions');
      subgraph.tick('u1', 1);
      subgraph.tick('u3', 1);
      await waitFor(
        () => first.nexts('u1').length === 1 && second.nexts('u1-again').length === 1 && other.nexts('u3').length === 1,
        30_000,
        'the events did not arrive',
      );
      await closeAll([first, second, other]);
      await waitFor(async () => (await gateway.subscriptions()).shared === 0, 30_000, 'subscriptions not released');
    },
  );

  test('open SSE streams: the third gets 503 CAPACITY_EXCEEDED; closing one makes room', TEST, async (t) => {
    const streams: OpenStream[] = [];
    t.after(() => streams.forEach((s) => s.close()));
    const subscribe = () => openStream(streamUrl, { from: '127.0.1.6', body: { query: TICKS, variables: { topic: 'sse' } } });
    for (let i = 0; i < CAP; i++) {
      const stream = await subscribe();
      streams.push(stream);
      assert.equal(stream.status, 200);
    }
    const over = await send(streamUrl, {
      from: '127.0.1.7',
      headers: { accept: 'text/event-stream' },
      body: { query: TICKS, variables: { topic: 'sse' } },
    });
    assert.equal(over.status, 503, over.text);
    assertCapacityExceeded(over.json().errors?.[0], 'sseStreams');

    streams[0]!.close();
    await waitFor(
      async () => {
        const stream = await subscribe();
        streams.push(stream);
        return stream.status === 200;
      },
      30_000,
      'no room after a stream closed',
    );
    streams.forEach((s) => s.close());
    await waitFor(async () => (await gateway.subscriptions()).shared === 0, 30_000, 'SSE subscriptions not released');
  });

  test('SSE reservations: the third gets 503 CAPACITY_EXCEEDED; streaming one makes room', TEST, async (t) => {
    const reserve = () => send(streamUrl, { from: '127.0.1.8', method: 'PUT' });
    const tokens: string[] = [];
    for (let i = 0; i < CAP; i++) {
      const answer = await reserve();
      assert.equal(answer.status, 201, answer.text);
      tokens.push(answer.text);
    }
    const over = await reserve();
    assert.equal(over.status, 503, over.text);
    assertCapacityExceeded(over.json().errors?.[0], 'sseReservations');

    const streamed = await openStream(`${streamUrl}?token=${tokens[0]!}`, { from: '127.0.1.8' });
    t.after(() => streamed.close());
    assert.equal(streamed.status, 200);
    assert.equal((await reserve()).status, 201, 'a streamed reservation no longer counts');
  });
});

describe('SSE reservations that are never streamed', () => {
  let subgraph: TicksSubgraph;
  let gateway: EdgeGateway;
  let streamUrl: string;

  before(async () => {
    subgraph = await startTicksSubgraph();
    gateway = await startEdgeGateway(subgraph, { SSE_RESERVATION_TTL_MS: '3000' });
    streamUrl = `${gateway.baseUrl}/graphql/stream`;
  }, TEST);
  after(async () => {
    await gateway?.stop();
    await subgraph?.stop();
  });

  /** Reserves a stream and posts a ticks subscription to it. */
  async function reserveWithSubscription(topic: string): Promise<string> {
    const token = (await send(streamUrl, { from: '127.0.2.1', method: 'PUT' })).text;
    const posted = await send(streamUrl, {
      from: '127.0.2.1',
      headers: { [TOKEN_HEADER]: token },
      body: { query: TICKS, variables: { topic }, extensions: { operationId: 'op' } },
    });
    assert.equal(posted.status, 202, posted.text);
    return token;
  }

  test('expire, and the subscription posted to one is released; one that was streamed in time goes on', TEST, async (t) => {
    const kept = (await send(streamUrl, { from: '127.0.2.1', method: 'PUT' })).text;
    const stream = await openStream(`${streamUrl}?token=${kept}`, { from: '127.0.2.1' });
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    const posted = await send(streamUrl, {
      from: '127.0.2.1',
      headers: { [TOKEN_HEADER]: kept },
      body: { query: TICKS, variables: { topic: 'kept' }, extensions: { operationId: 'op' } },
    });
    assert.equal(posted.status, 202, posted.text);

    const abandoned = await reserveWithSubscription('abandoned');
    await waitFor(async () => (await gateway.subscriptions()).subscribers === 2, 30_000, 'both subscriptions did not start');
    // Expiry is the gateway's own doing: the abandoned reservation's subscription goes, upstream too.
    await waitFor(async () => (await gateway.subscriptions()).shared === 1, 60_000, 'the abandoned reservation never expired');
    await waitFor(() => subgraph.listeners('abandoned') === 0, 30_000, 'the upstream subscription was not released');
    const late = await send(`${streamUrl}?token=${abandoned}`, { from: '127.0.2.1', headers: { accept: 'text/event-stream' } });
    assert.notEqual(late.status, 200, 'an expired reservation cannot be streamed');

    // The streamed reservation is older than the expired one, and still delivers.
    await waitFor(() => subgraph.listeners('kept') === 1, 30_000, 'no upstream subscription for the streamed reservation');
    subgraph.tick('kept', 7);
    await waitFor(() => stream.text().includes('"n":7'), 30_000, 'the streamed reservation did not deliver');
  });
});
