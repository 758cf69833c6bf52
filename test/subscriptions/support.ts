/**
 * What the subscription tests share: the example system on the librdkafka mock cluster, a raw
 * `graphql-transport-ws` client that records every message and how the socket closed, and the
 * subscription counters of the gateway and the orders subgraph.
 *
 * The fulfillment service is held back (its delays are far longer than any test), so the order
 * stream a subscriber sees is exactly what the test's producer process publishes.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startChild, type Child } from '../../lib/supervisor.ts';
import type { ExampleSystem } from '../../scripts/system.ts';
import { generateCustomers } from '../../services/customers/data.ts';
import type { OrderEvent } from '../../services/events/orders.ts';
import { startKafkaSystem, type CleanupScope } from '../kafka/orders-support.ts';
import { readCounter } from '../support/metrics.ts';
import { scaled, waitFor } from '../support/wait.ts';

/** The subprotocol of graphql-ws. */
export const GRAPHQL_TRANSPORT_WS = 'graphql-transport-ws';

/** The subscription most tests share: every order event, with a field from the customers subgraph. */
export const ORDER_EVENTS = 'subscription { orderEvents { cursor type order { id status customer { name } } } }';

/** One result of ORDER_EVENTS. */
export interface OrderEventResult {
  orderEvents: OrderEventView & { cursor: string };
}

/** An event of ORDER_EVENTS but for its cursor. */
export interface OrderEventView {
  type: string;
  order: { id: string; status: string; customer: { name: string } };
}

const customers = generateCustomers();
const graphqlType: Record<OrderEvent['type'], string> = {
  OrderPlaced: 'PLACED',
  OrderPaid: 'PAID',
  OrderShipped: 'SHIPPED',
  OrderCancelled: 'CANCELLED',
};

/** Events grouped by order, each order's in the order given. (Only per order is the order of events defined.) */
export function perOrder(events: OrderEventView[]): Map<string, OrderEventView[]> {
  const byOrder = new Map<string, OrderEventView[]>();
  for (const event of events) byOrder.set(event.order.id, [...(byOrder.get(event.order.id) ?? []), event]);
  return byOrder;
}

/** What a subscriber to ORDER_EVENTS should receive of a published stream, cursors aside, per order. */
export function expectedPerOrder(stream: OrderEvent[]): Map<string, OrderEventView[]> {
  const customerOf = new Map(stream.flatMap((e) => (e.type === 'OrderPlaced' ? [[e.orderId, e.data.customerId] as const] : [])));
  return perOrder(
    stream.map((event) => {
      const type = graphqlType[event.type];
      const customerId = customerOf.get(event.orderId)!;
      return { type, order: { id: event.orderId, status: type, customer: { name: customers[Number(customerId.slice(1)) - 1]!.name } } };
    }),
  );
}

export const withoutCursor = ({ cursor: _cursor, ...view }: OrderEventResult['orderEvents']): OrderEventView => view;

export interface SubscriptionSystem {
  /** `http://127.0.0.1:<port>` of the gateway. */
  gatewayUrl: string;
  /** `ws://127.0.0.1:<port>/graphql`. */
  wsUrl: string;
  /** `http://127.0.0.1:<port>` of the gateway's ops listener (its /metrics and detailed /readyz). */
  gatewayOpsUrl: string;
  /** `http://127.0.0.1:<port>` of the orders subgraph (GraphQL at /graphql). */
  ordersUrl: string;
  /** `http://127.0.0.1:<port>` of the orders subgraph's ops listener (its /metrics and /readyz). */
  ordersOpsUrl: string;
  /** Bootstrap brokers of the mock cluster, for the producer process. */
  brokers: string;
  system: ExampleSystem;
  /** An operator's `Authorization` header (every scope): also a `connection_init` payload as it is. */
  auth: Record<string, string>;
  /** Stops the system, then the cluster. */
  stop(): Promise<void>;
}

/**
 * Starts the mock cluster (one broker) and the example system on it; resolves once the orders
 * projection is ready. The fulfillment service waits ten minutes before paying an order. With a
 * `scope`, everything started is stopped when it ends (even after a start that failed half-way).
 */
/** Options for a hook that starts a subscription system: a loaded machine may take minutes. */
export const SYSTEM_START = { timeout: 600_000 };

export async function startSubscriptionSystem(gatewayEnv: Record<string, string> = {}, scope?: CleanupScope): Promise<SubscriptionSystem> {
  const kafka = await startKafkaSystem(
    {
      brokers: 1,
      payDelayMs: 600_000,
      shipDelayMs: 600_000,
      env: { gateway: { LOG_LEVEL: 'error', ...gatewayEnv } },
    },
    scope,
  );
  const { gatewayUrl } = kafka.system;
  return {
    gatewayUrl,
    wsUrl: `${gatewayUrl.replace(/^http/, 'ws')}/graphql`,
    gatewayOpsUrl: kafka.system.opsUrl('gateway'),
    ordersUrl: kafka.ordersUrl,
    ordersOpsUrl: kafka.ordersOpsUrl,
    brokers: kafka.cluster.bootstrap,
    system: kafka.system,
    auth: kafka.auth,
    stop: kafka.stop,
  };
}

export interface ExtraGateway {
  child: Child<'http' | 'ops'>;
  gatewayUrl: string;
  /** Its ops listener (/metrics, detailed /readyz). */
  opsUrl: string;
  wsUrl: string;
}

/**
 * Another gateway process on the system's subgraphs: for a setting of its own, or to be stopped
 * without disturbing the system's gateway. The caller stops it (`child.stop()`), or passes a
 * `scope` (a test context) that does.
 */
export async function startExtraGateway(
  sys: SubscriptionSystem,
  env: Record<string, string> = {},
  scope?: CleanupScope,
): Promise<ExtraGateway> {
  const { subgraphs } = (await (await fetch(`${sys.gatewayOpsUrl}/readyz`)).json()) as { subgraphs: { name: string; url: string }[] };
  // Its own usage record: extra gateways of one test file may run side by side.
  const dataDir = await mkdtemp(join(process.env['DATA_DIR'] ?? tmpdir(), 'extra-gateway-'));
  const started = startChild({
    name: 'extra-gateway',
    entry: 'gateway/src/main.ts',
    env: {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      PORT: '0',
      OPS_PORT: '0',
      SUBGRAPH_URLS: subgraphs.map((s) => `${s.name}=${s.url}`).join(','),
      ...sys.system.gatewayIdentityEnv,
      ...env,
    },
    listeners: ['http', 'ops'],
  });
  const removeDataDir = () => rm(dataDir, { recursive: true, force: true });
  const child = await started.catch(async (err: unknown) => {
    await removeDataDir();
    throw err;
  });
  void child.exited.then(removeDataDir);
  scope?.after(() => child.stop());
  const gatewayUrl = `http://127.0.0.1:${child.ports.http}`;
  return { child, gatewayUrl, opsUrl: `http://127.0.0.1:${child.ports.ops}`, wsUrl: `ws://127.0.0.1:${child.ports.http}/graphql` };
}

/** The gateway's `subscriptions` section of its detailed /readyz (on the ops listener). */
export interface GatewaySubscriptionStats {
  shared: number;
  subscribers: number;
  upstreamOpened: number;
}

export async function gatewayStats(opsUrl: string): Promise<GatewaySubscriptionStats> {
  const body = (await (await fetch(`${opsUrl}/readyz`)).json()) as { subscriptions: GatewaySubscriptionStats };
  return body.subscriptions;
}

/** Waits until the gateway's /readyz reports these numbers of shared subscriptions and subscribers. */
export async function untilGatewayStats(
  opsUrl: string,
  expected: Omit<GatewaySubscriptionStats, 'upstreamOpened'>,
  timeoutMs = 60_000,
): Promise<void> {
  let last: GatewaySubscriptionStats | undefined;
  await waitFor(
    async () => {
      last = await gatewayStats(opsUrl);
      return last.shared === expected.shared && last.subscribers === expected.subscribers;
    },
    timeoutMs,
    `gateway subscriptions never became ${JSON.stringify(expected)}`,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last /readyz subscriptions: ${JSON.stringify(last)}`);
  });
}

/** A metric (summed over its series) from a process's /metrics, on its ops listener at `opsUrl`. */
export const metric = (opsUrl: string, name: string): Promise<number> => readCounter(`${opsUrl}/metrics`, name, {});

/** A message of the graphql-transport-ws protocol, as received. */
export interface ProtocolMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

export interface CloseEvent {
  code: number;
  reason: string;
}

/** The payload of a `next` message. */
export interface NextPayload<D = Record<string, unknown>> {
  data?: D | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/**
 * A graphql-transport-ws client on a raw `ws` socket: it sends whatever it is told (misuse
 * included) and records what comes back, in order.
 */
export class ProtocolClient {
  /** Every message received, in order; `take` removes the ones it returns. */
  readonly messages: ProtocolMessage[] = [];
  /** Settles when the socket has closed, with the close code and reason. */
  readonly closed: Promise<CloseEvent>;
  private isClosed = false;

  readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => {
        this.isClosed = true;
        resolve({ code, reason: reason.toString() });
      }),
    );
    socket.on('message', (data) => this.messages.push(JSON.parse(String(data)) as ProtocolMessage));
    socket.on('error', () => {}); // 'close' follows and says what happened
  }

  /** Opens a socket; `protocols` empty sends no subprotocol at all; `options` go to `ws` (localAddress, headers). */
  static async open(
    url: string,
    protocols: string[] = [GRAPHQL_TRANSPORT_WS],
    timeoutMs = 60_000,
    options?: WebSocket.ClientOptions,
  ): Promise<ProtocolClient> {
    const client = new ProtocolClient(new WebSocket(url, protocols, options));
    try {
      await once(client.socket, 'open', { signal: AbortSignal.timeout(scaled(timeoutMs)) });
    } catch (err) {
      client.socket.terminate();
      throw err;
    }
    return client;
  }

  /** Opens a socket and completes connection_init / connection_ack. */
  static async connect(url: string, payload?: Record<string, unknown>, options?: WebSocket.ClientOptions): Promise<ProtocolClient> {
    const client = await ProtocolClient.open(url, undefined, undefined, options);
    await client.init(payload);
    return client;
  }

  get open(): boolean {
    return !this.isClosed && this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends a message; a string goes out as it is (for malformed messages). */
  send(message: object | string): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  async init(payload?: Record<string, unknown>): Promise<void> {
    this.send(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
    await this.take((m) => m.type === 'connection_ack', 'connection_ack');
  }

  subscribe(id: string, query: string, variables?: Record<string, unknown>): void {
    this.send({ id, type: 'subscribe', payload: variables === undefined ? { query } : { query, variables } });
  }

  /** Waits for the first recorded message that matches, removes it from `messages` and returns it. */
  async take(match: (message: ProtocolMessage) => boolean, what: string, timeoutMs = 60_000): Promise<ProtocolMessage> {
    let index = -1;
    await waitFor(() => (index = this.messages.findIndex(match)) >= 0 || this.isClosed, timeoutMs, `no ${what} received`, 10);
    if (index < 0) index = this.messages.findIndex(match); // it may have come just before the close
    if (index < 0) throw new Error(`no ${what} received: the socket closed with ${JSON.stringify(await this.closed)}`);
    return this.messages.splice(index, 1)[0]!;
  }

  /** Sends a ping and waits for its pong. */
  async ping(): Promise<void> {
    this.send({ type: 'ping' });
    await this.take((m) => m.type === 'pong', 'pong');
  }

  /** Runs a query or mutation over the socket: the payloads of its `next` messages, once `complete` came. */
  async execute<D = Record<string, unknown>>(id: string, query: string, variables?: Record<string, unknown>): Promise<NextPayload<D>[]> {
    this.subscribe(id, query, variables);
    await this.take((m) => m.id === id && m.type === 'complete', `complete of ${id}`);
    const nexts: NextPayload<D>[] = [];
    for (let i = this.messages.findIndex((m) => m.id === id); i >= 0; i = this.messages.findIndex((m) => m.id === id)) {
      const [message] = this.messages.splice(i, 1);
      if (message?.type !== 'next') throw new Error(`unexpected ${JSON.stringify(message)}`);
      nexts.push(message.payload as NextPayload<D>);
    }
    return nexts;
  }

  /** The `next` payloads recorded so far for a subscription id (not removed). */
  nexts<D = Record<string, unknown>>(id: string): NextPayload<D>[] {
    return this.messages.filter((m) => m.id === id && m.type === 'next').map((m) => m.payload as NextPayload<D>);
  }

  /** Waits for the close, bounded. */
  async whenClosed(timeoutMs = 60_000): Promise<CloseEvent> {
    await waitFor(() => this.isClosed, timeoutMs, 'the socket did not close', 10);
    return this.closed;
  }

  /** Closes the socket (normal closure) and waits; terminates it if the close handshake hangs. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.socket.close(1000);
    await this.whenClosed(10_000).catch(() => this.socket.terminate());
    await this.closed;
  }
}

/** Closes every client, whatever state each is in. */
export async function closeAll(clients: Iterable<ProtocolClient | undefined>): Promise<void> {
  await Promise.all([...clients].map(async (c) => c?.close()));
}
