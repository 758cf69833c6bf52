/**
 * The edge's caps, each at and over its setting (2 here): WebSockets per client (counted from the
 * upgrade, 429 before any WebSocket exists; by subject once connection_init names one, 4429),
 * operations per socket and distinct upstream subscriptions per client (the operation gets
 * CAPACITY_EXCEEDED), open SSE streams and reservations per client (429), and the gateway-wide
 * ceilings above them (503); handshakes `ws` would refuse get coded JSON; reservations are charged
 * to the operation rate, and those never streamed expire, releasing what was posted to them. Each
 * test is its own client (its own loopback address): one client at its cap never stops another.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type WebSocket from 'ws';
import type { DevAuth } from '../../scripts/dev-auth.ts';
import { ProtocolClient, closeAll, type NextPayload } from '../subscriptions/support.ts';
import { waitFor } from '../support/wait.ts';
import {
  edgeKeys,
  type EdgeKeys,
  TICKS,
  openStream,
  send,
  startEdgeGateway,
  startTicksSubgraph,
  upgrade,
  type EdgeGateway,
  type HttpAnswer,
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

/** Opens a socket from `from` and sends connection_init (with `payload`): 'ack', or how the socket was closed. */
async function tryConnect(
  url: string,
  from: string,
  payload?: Record<string, unknown>,
): Promise<{ client: ProtocolClient; close?: { code: number; reason: string } }> {
  const client = await ProtocolClient.open(url, undefined, undefined, { localAddress: from });
  client.send(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
  await waitFor(() => client.messages.some((m) => m.type === 'connection_ack') || !client.open, 30_000, 'no ack and no close');
  return client.open ? { client } : { client, close: await client.closed };
}

function assertCapacityExceeded(error: ErrorShape | undefined, limit: string): void {
  assert.equal(error?.extensions?.['code'], 'CAPACITY_EXCEEDED', JSON.stringify(error));
  assert.equal(error?.extensions?.['limit'], limit);
  assert.equal(error?.extensions?.['max'], CAP);
}

/** An HTTP refusal (`status`) whose JSON body is CAPACITY_EXCEEDED for `limit`. */
function assertRefused(answer: Pick<HttpAnswer, 'status' | 'text'>, status: number, limit: string): void {
  assert.equal(answer.status, status, answer.text);
  assertCapacityExceeded((JSON.parse(answer.text) as { errors?: ErrorShape[] }).errors?.[0], limit);
}

/** The sockets a test upgraded (closed after it), and the next upgrade from `from`. */
function upgrades(gateway: () => EdgeGateway, t: { after(fn: () => unknown): void }) {
  const sockets: WebSocket[] = [];
  t.after(() => sockets.forEach((socket) => socket.terminate()));
  return {
    sockets,
    from: async (from: string) => {
      const answer = await upgrade(gateway(), { from });
      if (answer.socket) sockets.push(answer.socket);
      return answer;
    },
  };
}

describe('caps per client', () => {
  let subgraph: TicksSubgraph;
  let gateway: EdgeGateway;
  let streamUrl: string;
  let keys: EdgeKeys | undefined;
  let auth: DevAuth;
  const withToken = async (subject: string) => ({ headers: { authorization: `Bearer ${await auth.token({ subject })}` } });

  before(async () => {
    keys = await edgeKeys();
    auth = keys.auth;
    subgraph = await startTicksSubgraph();
    gateway = await startEdgeGateway(subgraph, {
      MAX_WEBSOCKETS_PER_CLIENT: String(CAP),
      MAX_SUBSCRIPTIONS_PER_SOCKET: String(CAP),
      MAX_UPSTREAM_SUBSCRIPTIONS_PER_CLIENT: String(CAP),
      MAX_SSE_STREAMS_PER_CLIENT: String(CAP),
      MAX_SSE_RESERVATIONS_PER_CLIENT: String(CAP),
      SSE_RESERVATION_TTL_MS: '600000',
      // Sockets that never send connection_init stay open for the whole test.
      CONNECTION_INIT_TIMEOUT_MS: '600000',
      ...keys.env,
    });
    streamUrl = `${gateway.baseUrl}/graphql/stream`;
  }, TEST);
  after(async () => {
    await gateway?.stop();
    await subgraph?.stop();
    await keys?.remove();
  });

  test(
    'WebSockets per client count from the upgrade: sockets that never send connection_init fill the cap, the next upgrade gets 429 CAPACITY_EXCEEDED as JSON; others connect; closing one makes room',
    TEST,
    async (t) => {
      const sockets = upgrades(() => gateway, t);
      for (let i = 0; i < CAP; i++) assert.equal((await sockets.from('127.0.1.1')).status, 101, `socket ${i + 1} of ${CAP}`);
      assertRefused(await sockets.from('127.0.1.1'), 429, 'websocketsPerClient');
      const elsewhere = await tryConnect(gateway.wsUrl, '127.0.1.2');
      t.after(() => elsewhere.client.close());
      assert.equal(elsewhere.close, undefined, 'another client is not affected');

      sockets.sockets[0]!.close();
      await waitFor(async () => (await sockets.from('127.0.1.1')).status === 101, 30_000, 'no room after a socket closed');
      assert.ok((await gateway.refusals('websocketsPerClient')) >= 1);
    },
  );

  test(
    'a socket whose connection_init names a subject counts against that subject, not its address: the third of one subject is closed with 4429',
    TEST,
    async (t) => {
      const clients: ProtocolClient[] = [];
      t.after(() => closeAll(clients));
      for (let i = 0; i <= CAP; i++) {
        const { client, close } = await tryConnect(gateway.wsUrl, '127.0.1.9', await withToken(`subject-${i}`));
        clients.push(client);
        assert.equal(close, undefined, `socket ${i + 1} from one address, each of its own subject`);
      }
      for (const from of ['127.0.1.10', '127.0.1.11']) {
        const { client, close } = await tryConnect(gateway.wsUrl, from, await withToken('one-subject'));
        clients.push(client);
        assert.equal(close, undefined, `one subject from ${from}`);
      }
      const over = await tryConnect(gateway.wsUrl, '127.0.1.12', await withToken('one-subject'));
      clients.push(over.client);
      assert.equal(over.close?.code, 4429);
      assert.match(over.close?.reason ?? '', /^CAPACITY_EXCEEDED: /);
    },
  );

  test(
    'a handshake the WebSocket library would refuse gets coded JSON: 400 for a bad key or protocol list, 405 for a POST',
    TEST,
    async () => {
      const url = gateway.wsUrl.replace(/^ws/, 'http');
      const handshake = {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      };
      const cases: [Record<string, string>, string, number][] = [
        [{ ...handshake, 'sec-websocket-key': 'not-a-key' }, 'GET', 400],
        [{ ...handshake, 'sec-websocket-version': '99' }, 'GET', 400],
        [{ ...handshake, 'sec-websocket-protocol': 'a, , b' }, 'GET', 400],
        [handshake, 'POST', 405],
      ];
      for (const [headers, method, status] of cases) {
        const answer = await send(url, { from: '127.0.1.13', method, headers });
        assert.equal(answer.status, status, `${method} ${JSON.stringify(headers)}: ${answer.text}`);
        assert.match(String(answer.headers['content-type']), /^application\/json/);
        const [error] = answer.json().errors ?? [];
        assert.equal(error?.extensions?.['code'], 'BAD_REQUEST');
        assert.match(error?.message ?? '', /^not a valid WebSocket handshake: /);
      }
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

  test(
    'open SSE streams per client: the third gets 429 CAPACITY_EXCEEDED; another client is not stopped; closing one makes room',
    TEST,
    async (t) => {
      const streams: OpenStream[] = [];
      t.after(() => streams.forEach((s) => s.close()));
      const subscribe = async (from: string) => {
        const stream = await openStream(streamUrl, { from, body: { query: TICKS, variables: { topic: 'sse' } } });
        streams.push(stream);
        return stream;
      };
      for (let i = 0; i < CAP; i++) assert.equal((await subscribe('127.0.1.6')).status, 200);
      const over = await send(streamUrl, {
        from: '127.0.1.6',
        headers: { accept: 'text/event-stream' },
        body: { query: TICKS, variables: { topic: 'sse' } },
      });
      assertRefused(over, 429, 'sseStreamsPerClient');
      assert.equal((await subscribe('127.0.1.7')).status, 200, 'another client is not stopped');

      streams[0]!.close();
      await waitFor(async () => (await subscribe('127.0.1.6')).status === 200, 30_000, 'no room after a stream closed');
      streams.forEach((s) => s.close());
      await waitFor(async () => (await gateway.subscriptions()).shared === 0, 30_000, 'SSE subscriptions not released');
    },
  );

  test(
    'SSE reservations per client: the third gets 429 CAPACITY_EXCEEDED; another client is not stopped; streaming one makes room',
    TEST,
    async (t) => {
      const reserve = (from: string) => send(streamUrl, { from, method: 'PUT' });
      const tokens: string[] = [];
      for (let i = 0; i < CAP; i++) {
        const answer = await reserve('127.0.1.8');
        assert.equal(answer.status, 201, answer.text);
        tokens.push(answer.text);
      }
      assertRefused(await reserve('127.0.1.8'), 429, 'sseReservationsPerClient');
      assert.equal((await reserve('127.0.1.14')).status, 201, 'another client is not stopped');

      const streamed = await openStream(`${streamUrl}?token=${tokens[0]!}`, { from: '127.0.1.8' });
      t.after(() => streamed.close());
      assert.equal(streamed.status, 200);
      assert.equal((await reserve('127.0.1.8')).status, 201, 'a streamed reservation no longer counts');
    },
  );
});

describe('gateway-wide ceilings', () => {
  let subgraph: TicksSubgraph;
  let gateway: EdgeGateway;
  let streamUrl: string;

  before(async () => {
    subgraph = await startTicksSubgraph();
    gateway = await startEdgeGateway(subgraph, {
      MAX_WEBSOCKETS: String(CAP),
      MAX_SSE_STREAMS: String(CAP),
      MAX_SSE_RESERVATIONS: String(CAP),
      SSE_RESERVATION_TTL_MS: '600000',
      CONNECTION_INIT_TIMEOUT_MS: '600000',
    });
    streamUrl = `${gateway.baseUrl}/graphql/stream`;
  }, TEST);
  after(async () => {
    await gateway?.stop();
    await subgraph?.stop();
  });

  test('WebSockets: once every client together holds the ceiling, an upgrade gets 503 CAPACITY_EXCEEDED as JSON', TEST, async (t) => {
    const sockets = upgrades(() => gateway, t);
    assert.equal((await sockets.from('127.0.4.1')).status, 101);
    assert.equal((await sockets.from('127.0.4.2')).status, 101);
    assertRefused(await sockets.from('127.0.4.3'), 503, 'websockets');
    sockets.sockets[0]!.close();
    await waitFor(async () => (await sockets.from('127.0.4.3')).status === 101, 30_000, 'no room after a socket closed');
  });

  test('SSE streams and reservations: beyond the ceiling, 503 CAPACITY_EXCEEDED', TEST, async (t) => {
    const streams: OpenStream[] = [];
    t.after(() => streams.forEach((s) => s.close()));
    for (const from of ['127.0.4.4', '127.0.4.5']) {
      const stream = await openStream(streamUrl, { from, body: { query: TICKS, variables: { topic: 'ceiling' } } });
      streams.push(stream);
      assert.equal(stream.status, 200);
    }
    const over = await send(streamUrl, {
      from: '127.0.4.6',
      headers: { accept: 'text/event-stream' },
      body: { query: TICKS, variables: { topic: 'ceiling' } },
    });
    assertRefused(over, 503, 'sseStreams');

    for (const from of ['127.0.4.7', '127.0.4.8']) assert.equal((await send(streamUrl, { from, method: 'PUT' })).status, 201);
    assertRefused(await send(streamUrl, { from: '127.0.4.9', method: 'PUT' }), 503, 'sseReservations');
  });
});

describe('SSE reservations and the operation rate', () => {
  let subgraph: TicksSubgraph;
  let gateway: EdgeGateway;

  before(async () => {
    subgraph = await startTicksSubgraph();
    // One operation every ten minutes, plus a burst of one: two per client, however slow the machine.
    gateway = await startEdgeGateway(subgraph, { RATE_LIMIT_PER_SECOND: String(1 / 600), RATE_LIMIT_BURST: '1' });
  }, TEST);
  after(async () => {
    await gateway?.stop();
    await subgraph?.stop();
  });

  test(
    'each reservation is charged to its client: over the rate, 429 RATE_LIMITED with Retry-After; another client is not affected',
    TEST,
    async () => {
      const reserve = (from: string) => send(`${gateway.baseUrl}/graphql/stream`, { from, method: 'PUT' });
      for (let i = 0; i < 2; i++) assert.equal((await reserve('127.0.5.1')).status, 201);
      const over = await reserve('127.0.5.1');
      assert.equal(over.status, 429, over.text);
      assert.ok(Number(over.headers['retry-after']) >= 1);
      assert.equal(over.json().errors?.[0]?.extensions?.['code'], 'RATE_LIMITED');
      assert.equal(over.json().errors?.[0]?.extensions?.['limit'], 'operationRate');
      assert.equal((await reserve('127.0.5.2')).status, 201, 'another client is not affected');
    },
  );
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
