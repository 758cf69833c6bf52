/**
 * The benchmark's clients: graphql-ws sockets to the gateway, each carrying many `orderEvents`
 * subscriptions, recording for every delivery its latency (receipt time - the event's occurredAt,
 * which the producer set to the moment it published it).
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { OrderEventType } from '../../services/events/orders.ts';

/** Cross-subgraph on purpose: customer from the customers subgraph, products from the catalog. */
export const SELECTION =
  'cursor type occurredAt order { id status version customer { name tier } lines { quantity product { name stock } } }';

const graphqlTypes: Record<OrderEventType, string> = {
  OrderPlaced: 'PLACED',
  OrderPaid: 'PAID',
  OrderShipped: 'SHIPPED',
  OrderCancelled: 'CANCELLED',
};
const ALL_TYPES = Object.keys(graphqlTypes) as OrderEventType[];

export interface SubscriptionSpec {
  operationName: string;
  /** What to select on each event; SELECTION by default. */
  selection?: string;
  customerId?: string;
  types?: OrderEventType[];
}

/** How the distinct subscriptions of scenario (b) differ from each other. */
export type DistinctBy = 'name' | 'types' | 'customer';

/**
 * `count` subscriptions that the gateway cannot share: `name` differ only in operation name (each
 * gets every event: the full cost of a resolution per subscription); `types` also cycle through
 * the 15 non-empty sets of event types; `customer` follow one customer each (c1, c2, ...).
 */
export function distinctSpecs(count: number, by: DistinctBy): SubscriptionSpec[] {
  const typeSets = Array.from({ length: 15 }, (_, n) => ALL_TYPES.filter((_, bit) => ((n + 1) >> bit) & 1));
  return Array.from({ length: count }, (_, i) => ({
    operationName: `Distinct${i + 1}`,
    ...(by === 'types' && { types: typeSets[i % typeSets.length]! }),
    ...(by === 'customer' && { customerId: `c${i + 1}` }),
  }));
}

/** What the orders subgraph answers by itself: a probe straight to it measures the latency up to the gateway. */
export const probeSpec: SubscriptionSpec = { operationName: 'Probe', selection: 'cursor type occurredAt order { id status version }' };

export const identicalSpecs = (count: number): SubscriptionSpec[] => Array.from({ length: count }, () => ({ operationName: 'Identical' }));

/** Whether the subgraph would send this event to this subscription (`customerId`: the order's customer). */
export function matches(spec: SubscriptionSpec, type: OrderEventType, customerId: string | undefined): boolean {
  return (!spec.types || spec.types.includes(type)) && (spec.customerId === undefined || spec.customerId === customerId);
}

function request(spec: SubscriptionSpec) {
  const args: string[] = [];
  const variables: Record<string, unknown> = {};
  const params: string[] = [];
  if (spec.customerId !== undefined) {
    params.push('$customerId: ID');
    args.push('customerId: $customerId');
    variables['customerId'] = spec.customerId;
  }
  if (spec.types) {
    params.push('$types: [OrderEventType!]');
    args.push('types: $types');
    variables['types'] = spec.types.map((t) => graphqlTypes[t]);
  }
  const signature = params.length ? `(${params.join(', ')})` : '';
  const field = args.length ? `orderEvents(${args.join(', ')})` : 'orderEvents';
  return {
    query: `subscription ${spec.operationName}${signature} { ${field} { ${spec.selection ?? SELECTION} } }`,
    variables,
    operationName: spec.operationName,
  };
}

interface Delivery {
  data?: { orderEvents?: { occurredAt?: string } } | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

export class SubscriberPool {
  /** Latencies (ms) of deliveries of events that occurred inside the window. */
  latencies: number[] = [];
  /** For each of those, when its event occurred, in ms since the window started. */
  occurred: number[] = [];
  windowDeliveries = 0;
  totalDeliveries = 0;
  lastDeliveryAt = 0;
  /** Error results and subscription errors (since the window started), by code or message. */
  readonly errors = new Map<string, number>();
  completed = 0;
  private window: { from: number; to: number } | undefined;
  private readonly unsubscribes: (() => void)[] = [];

  private readonly clients: Client[];

  private constructor(clients: Client[]) {
    this.clients = clients;
  }

  /**
   * Opens `sockets` sockets and spreads the subscriptions over them, round robin; `connectionParams`
   * is each socket's connection_init payload (a subgraph needs the gateway's signed identity there).
   */
  static async open(
    url: string,
    sockets: number,
    specs: SubscriptionSpec[],
    connectionParams?: () => Record<string, unknown>,
  ): Promise<SubscriberPool> {
    const clients = Array.from({ length: Math.max(1, Math.min(sockets, specs.length)) }, () =>
      createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => {}, connectionParams }),
    );
    const pool = new SubscriberPool(clients);
    // Wait until every socket is acknowledged, so the subscriptions below go out at once.
    await Promise.all(
      clients.map(
        (client) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`graphql-ws: no connection_ack from ${url} within 10 s`)), 10_000);
            const off = client.on('connected', () => {
              clearTimeout(timer);
              off();
              resolve();
            });
          }),
      ),
    );
    specs.forEach((spec, i) => pool.subscribe(clients[i % clients.length]!, spec));
    return pool;
  }

  /** Events with occurredAt in [from, to] (epoch ms) count as the window's; `to` can be set later. */
  startWindow(from: number): void {
    this.window = { from, to: Number.POSITIVE_INFINITY };
    this.latencies = [];
    this.occurred = [];
    this.windowDeliveries = 0;
    this.errors.clear();
  }

  endWindow(to: number): void {
    if (this.window) this.window.to = to;
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    await Promise.all(this.clients.map(async (c) => c.dispose()));
  }

  private subscribe(client: Client, spec: SubscriptionSpec): void {
    this.unsubscribes.push(
      client.subscribe<Delivery['data']>(request(spec), {
        next: (result: Delivery) => this.record(result),
        error: (err) =>
          this.count(
            Array.isArray(err)
              ? String((err[0] as { message?: string })?.message)
              : `socket: ${String((err as { code?: number }).code ?? err)}`,
          ),
        complete: () => this.completed++,
      }),
    );
  }

  private record(result: Delivery): void {
    const now = Date.now();
    for (const error of result.errors ?? []) this.count(String(error.extensions?.['code'] ?? error.message));
    const occurredAt = result.data?.orderEvents?.occurredAt;
    if (!occurredAt) return;
    this.totalDeliveries++;
    this.lastDeliveryAt = now;
    const at = Date.parse(occurredAt);
    if (this.window && at >= this.window.from && at <= this.window.to) {
      this.windowDeliveries++;
      this.latencies.push(now - at);
      this.occurred.push(at - this.window.from);
    }
  }

  private count(key: string): void {
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }
}
