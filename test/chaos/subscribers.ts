/**
 * The chaos run's subscribers: graphql-transport-ws clients of `orderEvents` through the gateway,
 * written as a careful application would write one. Each records every event it receives, keeps
 * the newest position it was given (an event's cursor, or a status-only result's position when it
 * opted in to those), and whenever its subscription ends for any reason it subscribes again from
 * that position: on a new socket when the socket closed, on the same one after an `error` or a
 * `complete` it did not ask for. Every ending it did not ask for is recorded as a signal (a stream
 * that ends with an errors result, then `complete`, by that result's code); results with errors
 * on a stream that goes on are recorded apart.
 */
import WebSocket from 'ws';
import type { EventType } from './contract.ts';
import type { Delivery, Filter } from './expect.ts';

export type SubscriberClass = 'plain' | 'customer' | 'types';

export interface SubscriberSpec {
  name: string;
  class: SubscriberClass;
  filter: Filter;
  /** How `after` is passed when resuming: in the query text, or as a variable. */
  afterAs: 'literal' | 'variable';
  /** Opt in to status-only results that carry the stream's position (schema/resumable.md). */
  status: boolean;
  /** Also select the customer's name: an entity fetch from the customers subgraph per event. */
  resolveCustomer?: boolean | undefined;
}

export interface SubscriberOptions {
  /** ws://host:port/graphql of the gateway. */
  url: string;
  /** The `connection_init` payload: an `Authorization` that may subscribe to every customer's events. */
  connectionParams: Record<string, string>;
  /** The topic's end offsets now (for the live restart of a subscriber that has no position). */
  endOffsets(): Promise<number[]>;
  /** How long after a live restart the end offsets are read, in ms: time for the gateway to open the stream. @default 2000 */
  settleMs?: number;
}

const graphqlType: Record<string, EventType> = {
  PLACED: 'OrderPlaced',
  PAID: 'OrderPaid',
  SHIPPED: 'OrderShipped',
  CANCELLED: 'OrderCancelled',
};
export const GRAPHQL_TYPES: Record<EventType, string> = Object.fromEntries(Object.entries(graphqlType).map(([g, t]) => [t, g])) as Record<
  EventType,
  string
>;

interface EventPayload {
  data?: { orderEvents?: { cursor: string; type: string; order: { id: string; version: number } } | null } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
  extensions?: { stream?: { position?: unknown } };
}

const RESUBSCRIBE_MS = 1_000;
const ACK_TIMEOUT_MS = 10_000;
/** Endings that say the position cannot be resumed from. */
const LOST_POSITION = new Set(['CURSOR_EXPIRED', 'INVALID_CURSOR']);
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 2_000;

/** The subscribe payload for a spec, resuming after `position` when there is one. */
export function subscribePayload(spec: SubscriberSpec, position: string | undefined): Record<string, unknown> {
  const params: string[] = [];
  const args: string[] = [];
  const variables: Record<string, unknown> = {};
  if (spec.filter.customerId !== undefined) {
    params.push('$customerId: ID');
    args.push('customerId: $customerId');
    variables['customerId'] = spec.filter.customerId;
  }
  if (spec.filter.types !== undefined) {
    params.push('$types: [OrderEventType!]');
    args.push('types: $types');
    variables['types'] = spec.filter.types.map((t) => GRAPHQL_TYPES[t]);
  }
  if (position !== undefined && spec.afterAs === 'variable') {
    params.push('$after: String');
    args.push('after: $after');
    variables['after'] = position;
  } else if (position !== undefined) args.push(`after: ${JSON.stringify(position)}`);
  const order = `id version status${spec.resolveCustomer ? ' customer { name }' : ''}`;
  const query =
    `subscription Chaos${params.length ? `(${params.join(', ')})` : ''} {\n` +
    `  orderEvents${args.length ? `(${args.join(', ')})` : ''} { cursor id type order { ${order} } }\n}`;
  return { query, variables, ...(spec.status && { extensions: { stream: { status: true } } }) };
}

export class ChaosSubscriber {
  readonly spec: SubscriberSpec;
  readonly deliveries: Delivery[] = [];
  /** Endings it did not ask for, by code (`CLOSED_<n>` for a socket, `COMPLETE`, or an error's code). */
  readonly signals: string[] = [];
  /** Results that carried errors (with partial data or none), by the first error's code. */
  readonly erroredResults: string[] = [];
  /** Status-only results received. */
  statuses = 0;
  /** Subscriptions sent (the first, and every resume). */
  subscriptions = 0;
  /** Resumes without a position: each started live. */
  liveRestarts = 0;
  /** The newest position it was given. */
  position: string | undefined;
  /** See expect.ts: undelivered events below these offsets are excused. */
  excuseBelow: number[] | undefined;
  /** When the last result came (ms since the epoch). */
  lastResultAt = Date.now();
  /** When the last event came (ms since the epoch). */
  lastEventAt = Date.now();

  private readonly options: SubscriberOptions;
  private socket: WebSocket | undefined;
  private active: string | undefined;
  private wanted = false;
  private backoffMs = RECONNECT_MIN_MS;
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  /** The code of the last result when it had errors and no data: a `complete` right after it ends with it. */
  private lastErrorCode: string | undefined;
  /** Its position was refused: what it misses by starting live is not excused. */
  private forfeited = false;

  constructor(spec: SubscriberSpec, options: SubscriberOptions) {
    this.spec = spec;
    this.options = options;
  }

  /** Whether its subscription is open now (subscribed on an acknowledged socket). */
  get subscribed(): boolean {
    return this.active !== undefined;
  }

  /** Connects and subscribes, and keeps doing so until `drop` or `stop`. */
  start(): void {
    this.wanted = true;
    this.connect();
  }

  /** Closes its socket on purpose (no signal); `start` resumes it from its position. */
  drop(): void {
    this.wanted = false;
    clearTimeout(this.timer);
    this.active = undefined;
    this.socket?.close(1000);
    this.socket = undefined;
  }

  /** Drops it for good and waits for any end-offset read it started. */
  async stop(): Promise<void> {
    this.drop();
    await Promise.allSettled([...this.pending]);
  }

  private connect(): void {
    if (!this.wanted) return;
    const socket = new WebSocket(this.options.url, 'graphql-transport-ws');
    this.socket = socket;
    let acknowledged = false;
    // A gateway that accepts the socket but never acknowledges it must not stall this client.
    const ackTimer = setTimeout(() => acknowledged || socket.terminate(), ACK_TIMEOUT_MS);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: this.options.connectionParams })));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', (code) => {
      clearTimeout(ackTimer);
      if (this.socket !== socket) return; // dropped on purpose
      this.socket = undefined;
      this.active = undefined;
      if (acknowledged) this.signals.push(`CLOSED_${code}`);
      this.later(() => this.connect(), this.backoffMs);
      this.backoffMs = Math.min(RECONNECT_MAX_MS, this.backoffMs * 2);
    });
    socket.on('message', (raw) => {
      if (this.socket !== socket) return;
      let message: { type?: string; id?: string; payload?: unknown };
      try {
        message = JSON.parse(String(raw)) as typeof message;
      } catch {
        this.signals.push('BAD_MESSAGE');
        return;
      }
      if (message.type === 'connection_ack') {
        acknowledged = true;
        this.backoffMs = RECONNECT_MIN_MS;
        this.subscribe(socket);
      } else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
      else if (message.id !== undefined && message.id === this.active) this.onResult(socket, message.type, message.payload);
    });
  }

  private subscribe(socket: WebSocket): void {
    if (!this.wanted || this.socket !== socket) return;
    const id = `s${++this.subscriptions}`;
    this.active = id;
    socket.send(JSON.stringify({ id, type: 'subscribe', payload: subscribePayload(this.spec, this.position) }));
    if (this.position === undefined && this.subscriptions > 1 && !this.forfeited) this.restartedLive();
  }

  /** It had to subscribe again with no position: it starts live, so excuse what came before. */
  private restartedLive(): void {
    this.liveRestarts++;
    const reading = new Promise((resolve) => setTimeout(resolve, this.options.settleMs ?? 2_000))
      .then(() => this.options.endOffsets())
      .then((ends) => {
        this.excuseBelow = ends.map((end, p) => Math.max(end, this.excuseBelow?.[p] ?? 0));
      })
      .catch(() => {
        // The log did not answer: excuse everything seen so far rather than report false misses.
        this.excuseBelow = Array.from({ length: 1024 }, () => Number.MAX_SAFE_INTEGER);
      });
    this.pending.add(reading);
    void reading.finally(() => this.pending.delete(reading));
  }

  private onResult(socket: WebSocket, type: string | undefined, payload: unknown): void {
    this.lastResultAt = Date.now();
    if (type === 'next') {
      const result = payload as EventPayload;
      const event = result.data?.orderEvents;
      const code = result.errors?.length ? (result.errors[0]?.extensions?.code ?? 'ERROR') : undefined;
      if (code) this.erroredResults.push(code);
      this.lastErrorCode = event ? undefined : code;
      const status = result.extensions?.stream?.position;
      if (event) {
        this.deliveries.push({
          orderId: event.order.id,
          version: event.order.version,
          type: graphqlType[event.type] ?? 'OrderPlaced',
          subscription: this.subscriptions,
        });
        this.position = event.cursor;
        this.lastEventAt = this.lastResultAt;
      } else if (!result.errors?.length && typeof status === 'string') {
        this.statuses++;
        this.position = status;
      }
      return;
    }
    if (type === 'error') {
      const errors = payload as { extensions?: { code?: string } }[] | undefined;
      this.signals.push(errors?.[0]?.extensions?.code ?? 'ERROR');
    } else if (type === 'complete') {
      if (this.lastErrorCode !== undefined) this.erroredResults.pop(); // that result was the ending, counted as a signal
      this.signals.push(this.lastErrorCode ?? 'COMPLETE');
    } else return;
    this.lastErrorCode = undefined;
    if (LOST_POSITION.has(this.signals.at(-1)!)) {
      // The stream cannot resume from its position: start live, and owe the gap (no excuse).
      this.position = undefined;
      this.forfeited = true;
    }
    this.active = undefined;
    this.later(() => this.subscribe(socket), RESUBSCRIBE_MS);
  }

  private later(fn: () => void, ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(fn, ms);
  }
}
