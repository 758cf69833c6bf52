/**
 * The gateway's GraphQL over WebSocket (`graphql-transport-ws`) as raw sockets see it: every
 * misuse closes the socket with the close code of the protocol document (graphql-ws's `CloseCode`)
 * while the gateway keeps serving everyone else; queries, mutations and subscriptions over the
 * socket; and what the end of a subscription, of a socket and of the gateway release.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { generateCustomers } from '../../services/customers/data.ts';
import { scaled, waitFor } from '../support/wait.ts';
import {
  ORDER_EVENTS,
  ProtocolClient,
  metric,
  startExtraGateway,
  startSubscriptionSystem,
  untilGatewayStats,
  type CloseEvent,
  type SubscriptionSystem,
  SYSTEM_START,
} from './support.ts';
import { Cleanups } from '../kafka/orders-support.ts';

/** Room for a loaded machine: these tests wait on processes, each wait up to 60-120 s. */
const SYSTEM_TEST = { timeout: 600_000 };

/** For the 4408 test's own gateway only: the shared one keeps its default, so no client races it. */
const INIT_TIMEOUT_MS = 1_000;
const C3_NAME = generateCustomers()[2]!.name;

describe('graphql-transport-ws on the gateway', () => {
  let sys: SubscriptionSystem;
  /** A well-behaved client connected all along, beside the misbehaving ones. */
  let bystander: ProtocolClient | undefined;
  let queries = 0;

  // Whatever the system start got to is stopped, even when the start fails or times out.
  const cleanups = new Cleanups();
  after(() => cleanups.run());
  before(async () => {
    sys = await startSubscriptionSystem({}, cleanups);
    bystander = await ProtocolClient.connect(sys.wsUrl, sys.auth);
  }, SYSTEM_START);
  after(async () => {
    await bystander?.close();
    await sys?.stop();
  });

  /** The client connected all along and a fresh one both still get pong and query results. */
  async function assertStillServing(): Promise<void> {
    const fresh = await ProtocolClient.connect(sys.wsUrl, sys.auth);
    try {
      for (const client of [bystander!, fresh]) {
        await client.ping();
        assert.deepEqual(await client.execute(`q${++queries}`, '{ customer(id: "c3") { name } }'), [
          { data: { customer: { name: C3_NAME } } },
        ]);
      }
    } finally {
      await fresh.close();
    }
  }

  /** Opens a socket (initialised unless told otherwise), runs the misuse, returns how the socket closed. */
  async function misuse(
    run: (client: ProtocolClient) => void | Promise<void>,
    options: { init?: boolean; wsUrl?: string } = {},
  ): Promise<CloseEvent> {
    const url = options.wsUrl ?? sys.wsUrl;
    const client = options.init === false ? await ProtocolClient.open(url) : await ProtocolClient.connect(url, sys.auth);
    try {
      await run(client);
      return await client.whenClosed();
    } finally {
      await client.close();
    }
  }

  describe('misuse closes the socket with the protocol close code, and the gateway keeps serving', () => {
    test('invalid JSON: 4400', SYSTEM_TEST, async () => {
      assert.deepEqual(await misuse((c) => c.send('{"type": "ping"')), { code: 4400, reason: 'Invalid message received' });
      await assertStillServing();
    });

    test('an unknown message type: 4400', SYSTEM_TEST, async () => {
      assert.deepEqual(await misuse((c) => c.send({ type: 'teleport', id: '1' })), { code: 4400, reason: 'Invalid message received' });
      await assertStillServing();
    });

    for (const type of ['next', 'error', 'connection_ack']) {
      test(`a message only a server may send (${type}): 4400`, SYSTEM_TEST, async () => {
        assert.deepEqual(await misuse((c) => c.send({ type, id: '1', payload: {} })), {
          code: 4400,
          reason: `Invalid message received: a client may not send "${type}"`,
        });
        await assertStillServing();
      });
    }

    test('a subscribe message without a query: 4400', SYSTEM_TEST, async () => {
      assert.deepEqual(await misuse((c) => c.send({ id: '1', type: 'subscribe', payload: { variables: {} } })), {
        code: 4400,
        reason: 'Invalid message received',
      });
      await assertStillServing();
    });

    test('subscribe before connection_ack: 4401', SYSTEM_TEST, async () => {
      assert.deepEqual(await misuse((c) => c.subscribe('1', '{ customer(id: "c3") { name } }'), { init: false }), {
        code: 4401,
        reason: 'Unauthorized',
      });
      await assertStillServing();
    });

    test('a subscribe with an id already in use: 4409, and the first subscription is released', SYSTEM_TEST, async () => {
      const close = await misuse(async (c) => {
        c.subscribe('dup', ORDER_EVENTS);
        await untilGatewayStats(sys.gatewayOpsUrl, { shared: 1, subscribers: 1 });
        c.subscribe('dup', ORDER_EVENTS);
      });
      assert.deepEqual(close, { code: 4409, reason: 'Subscriber for dup already exists' });
      await untilGatewayStats(sys.gatewayOpsUrl, { shared: 0, subscribers: 0 });
      await assertStillServing();
    });

    test('a second connection_init: 4429', SYSTEM_TEST, async () => {
      assert.deepEqual(await misuse((c) => c.send({ type: 'connection_init' })), {
        code: 4429,
        reason: 'Too many initialisation requests',
      });
      await assertStillServing();
    });

    test('no connection_init within CONNECTION_INIT_TIMEOUT_MS: 4408', SYSTEM_TEST, async (t) => {
      // A gateway of its own with a short init timeout: on the shared one, a client slowed down by a
      // loaded machine could miss it.
      const { wsUrl } = await startExtraGateway(sys, { CONNECTION_INIT_TIMEOUT_MS: String(INIT_TIMEOUT_MS) }, t);
      assert.deepEqual(await misuse(() => {}, { init: false, wsUrl }), { code: 4408, reason: 'Connection initialisation timeout' });
      await assertStillServing();
    });

    test('a socket without a subprotocol: 4406', SYSTEM_TEST, async () => {
      const client = await ProtocolClient.open(sys.wsUrl, []);
      assert.equal(client.socket.protocol, '');
      assert.deepEqual(await client.whenClosed(), { code: 4406, reason: 'Subprotocol not acceptable' });
      await assertStillServing();
    });

    test('a socket offering only another subprotocol is given none and closed with 4406', SYSTEM_TEST, async () => {
      const upgrade = await upgradeOffering(sys.wsUrl, 'graphql-ws');
      assert.deepEqual(upgrade, { status: 101, protocol: undefined, close: { code: 4406, reason: 'Subprotocol not acceptable' } });
      await assertStillServing();
    });
  });

  describe('operations over the socket', () => {
    test('a subscription to a field that does not exist gets a coded error message; the socket stays open', SYSTEM_TEST, async (t) => {
      const client = await ProtocolClient.connect(sys.wsUrl, sys.auth);
      t.after(() => client.close());
      client.subscribe('bad', 'subscription { noSuchField }');
      const error = await client.take((m) => m.id === 'bad', 'an answer to the bad subscription');
      assert.deepEqual(error, {
        id: 'bad',
        type: 'error',
        payload: [
          {
            message: 'Cannot query field "noSuchField" on type "Subscription".',
            locations: [{ line: 1, column: 16 }],
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          },
        ],
      });
      await client.ping();
      assert.equal(client.open, true);
      assert.deepEqual(client.messages, []);
    });

    test('a query gets one next, then complete', SYSTEM_TEST, async (t) => {
      const client = await ProtocolClient.connect(sys.wsUrl, sys.auth);
      t.after(() => client.close());
      const results = await client.execute('q', 'query Two($id: ID!) { customer(id: $id) { name } product(id: "p1") { id } }', {
        id: 'c3',
      });
      assert.deepEqual(results, [{ data: { customer: { name: C3_NAME }, product: { id: 'p1' } } }]);
    });

    test('a query whose result has errors gets them as a result; the socket stays open', SYSTEM_TEST, async (t) => {
      const client = await ProtocolClient.connect(sys.wsUrl, sys.auth);
      t.after(() => client.close());
      const results = await client.execute('q', '{ customers(first: 1000) { id } }');
      assert.equal(results.length, 1);
      assert.equal(results[0]!.data ?? null, null);
      assert.equal(results[0]!.errors?.[0]?.extensions?.['code'], 'BAD_USER_INPUT');
      assert.deepEqual(results[0]!.errors?.[0]?.path, ['customers']);
      await client.ping();
      assert.equal(client.open, true);
    });

    test('a mutation gets one next, then complete', SYSTEM_TEST, async (t) => {
      const client = await ProtocolClient.connect(sys.wsUrl, sys.auth);
      t.after(() => client.close());
      const results = await client.execute<{ placeOrder: { status: string; version: number; customer: { name: string } } }>(
        'm',
        'mutation { placeOrder(input: { customerId: "c3", lines: [{ productId: "p1", quantity: 1 }] }) { status version customer { name } } }',
      );
      assert.deepEqual(results, [{ data: { placeOrder: { status: 'PLACED', version: 1, customer: { name: C3_NAME } } } }]);
    });

    test('connection_init with { headers: { authorization } } is acknowledged, and operations run', SYSTEM_TEST, async (t) => {
      const token = await sys.system.token({ customer: 'c3' });
      const client = await ProtocolClient.connect(sys.wsUrl, { headers: { authorization: `Bearer ${token}` } });
      t.after(() => client.close());
      assert.deepEqual(await client.execute('q', '{ customer(id: "c3") { name } }'), [{ data: { customer: { name: C3_NAME } } }]);
    });

    test('complete from the client ends the subscription: the gateway has no subscriber left', SYSTEM_TEST, async (t) => {
      const client = await ProtocolClient.connect(sys.wsUrl, sys.auth);
      t.after(() => client.close());
      client.subscribe('s', ORDER_EVENTS);
      await untilGatewayStats(sys.gatewayOpsUrl, { shared: 1, subscribers: 1 });
      client.send({ id: 's', type: 'complete' });
      await untilGatewayStats(sys.gatewayOpsUrl, { shared: 0, subscribers: 0 });
      assert.equal(client.open, true);
    });

    test('closing the socket releases the upstream subscription on the orders subgraph', SYSTEM_TEST, async () => {
      const active = await metric(sys.ordersOpsUrl, 'orders_subscriptions_active');
      const client = await ProtocolClient.connect(sys.wsUrl, sys.auth);
      try {
        client.subscribe('s', ORDER_EVENTS);
        await waitFor(
          async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === active + 1,
          60_000,
          'no upstream subscription opened',
        );
      } finally {
        await client.close();
      }
      await waitFor(
        async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === active,
        60_000,
        'the upstream subscription was not released',
      );
      assert.equal(await metric(sys.ordersOpsUrl, 'orders_subscriptions_active'), active);
      await untilGatewayStats(sys.gatewayOpsUrl, { shared: 0, subscribers: 0 });
    });
  });

  describe('gateway shutdown', () => {
    test('completes open subscriptions, then closes client sockets with 1001', SYSTEM_TEST, async (t) => {
      // A gateway of its own on the same subgraphs, so stopping it leaves the other tests' gateway alone.
      const { child: gateway, opsUrl, wsUrl } = await startExtraGateway(sys, {}, t);
      const active = await metric(sys.ordersOpsUrl, 'orders_subscriptions_active');
      const client = await ProtocolClient.connect(wsUrl, sys.auth);
      t.after(() => client.close());
      client.subscribe('s', ORDER_EVENTS);
      await untilGatewayStats(opsUrl, { shared: 1, subscribers: 1 });
      await waitFor(
        async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === active + 1,
        60_000,
        'no upstream subscription opened',
      );

      assert.equal(await gateway.stop(), 0);
      assert.deepEqual(await client.whenClosed(), { code: 1001, reason: 'Going away' });
      assert.deepEqual(client.messages, [{ id: 's', type: 'complete' }]);
      await waitFor(
        async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === active,
        60_000,
        'the upstream subscription was not released',
      );
    });
  });
});

/**
 * A WebSocket upgrade by hand, offering one subprotocol: what the server answered (status, the
 * subprotocol it chose) and the close frame it then sent. (The `ws` client refuses a handshake
 * that selects none of its subprotocols, so it never gets to see the close code.)
 */
async function upgradeOffering(
  wsUrl: string,
  protocol: string,
): Promise<{ status: number | undefined; protocol: string | undefined; close: CloseEvent }> {
  const req = request(wsUrl.replace(/^ws/, 'http'), {
    headers: {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
      'sec-websocket-protocol': protocol,
    },
    signal: AbortSignal.timeout(scaled(60_000)),
  });
  req.end();
  const [response, socket, head] = (await once(req, 'upgrade')) as [IncomingMessage, Socket, Buffer];
  try {
    // The server's first frame; server frames are unmasked, and a close frame's payload is < 126 bytes.
    const frame = await new Promise<Buffer>((resolve, reject) => {
      let data = head;
      const budget = scaled(60_000);
      const timer = setTimeout(() => reject(new Error(`no frame within ${budget} ms`)), budget);
      const check = () => {
        if (data.length >= 2 && data.length >= 2 + (data[1]! & 0x7f)) {
          clearTimeout(timer);
          resolve(data);
        }
      };
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        check();
      });
      socket.once('close', () => {
        clearTimeout(timer);
        reject(new Error('the socket closed without a frame'));
      });
      check();
    });
    assert.equal(frame[0]! & 0x0f, 0x8, 'not a close frame');
    const length = frame[1]! & 0x7f;
    return {
      status: response.statusCode,
      protocol: response.headers['sec-websocket-protocol'],
      close: { code: frame.readUInt16BE(2), reason: frame.subarray(4, 2 + length).toString('utf8') },
    };
  } finally {
    socket.destroy();
  }
}
