/**
 * Upstream subscriptions to subgraphs over graphql-ws: one client (one socket, many multiplexed
 * subscriptions) per subgraph and caller, opened on first use and closed when unused. A
 * dropped socket fails its subscriptions; the shared subscriptions reopen themselves (stream.ts).
 *
 * Nothing here may reject unobserved or throw from a callback: the gateway process outlives every
 * upstream failure.
 */
import type { ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Logger } from '../../../lib/logger.ts';

export interface UpstreamRequest {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string | undefined;
  /** The subscribe message's `payload.extensions` (where the resume instruction goes). */
  extensions?: Record<string, unknown> | undefined;
}

/** The gateway could not keep up with an upstream subscription; its subscribers should resume by cursor. */
export class UpstreamBacklogFull extends Error {
  readonly serviceName: string;
  readonly limit: number;

  constructor(serviceName: string, limit: number) {
    super(`more than ${limit} events from subgraph "${serviceName}" were waiting to be resolved`);
    this.serviceName = serviceName;
    this.limit = limit;
    this.name = 'UpstreamBacklogFull';
  }
}

export interface UpstreamOptions {
  /** Subgraph name -> its HTTP GraphQL URL (the WebSocket URL is derived from it). */
  urls: Map<string, string>;
  log: Logger;
  /**
   * How long opening a socket may take, in ms, for each of its two steps: the WebSocket handshake,
   * then graphql-ws's wait for `connection_ack`. A subgraph that does not finish either in time
   * fails the subscriptions waiting on it (they are reopened like after any lost socket). Default 5 000.
   */
  connectTimeoutMs?: number | undefined;
}

/** Who an upstream socket is opened for. */
export interface UpstreamCaller {
  /** Callers with the same key share one socket per subgraph. */
  key: string;
  /**
   * The `connection_init` payload, made at each connect: what it carries (a signed identity) may
   * age, and a socket is opened again after a lost one.
   */
  connectionParams: () => Record<string, unknown>;
}

/** One socket per subgraph URL and caller: after a reload that moves a subgraph, new subscriptions go to its new URL. */
const clientKey = (serviceName: string, url: string | undefined, caller: UpstreamCaller) => `${serviceName}\u0000${url}\u0000${caller.key}`;

const KEEP_ALIVE_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;

export class UpstreamConnections {
  private readonly clients = new Map<string, { client: Client; users: number }>();

  private readonly options: UpstreamOptions;

  constructor(options: UpstreamOptions) {
    this.options = options;
  }

  /**
   * Opens an upstream subscription. Events wait in a queue of at most `maxQueued` until the caller
   * takes them; when the caller falls further behind, the iterator throws `UpstreamBacklogFull`
   * (and the upstream subscription is released) instead of holding ever more events in memory.
   */
  subscribe(
    serviceName: string,
    request: UpstreamRequest,
    caller: UpstreamCaller,
    maxQueued: number,
  ): AsyncIterableIterator<ExecutionResult> {
    const queue: ExecutionResult[] = [];
    let failure: unknown;
    let done = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const key = clientKey(serviceName, this.options.urls.get(serviceName), caller);
    const entry = this.client(key, serviceName, caller);
    entry.users++;
    let released = false;
    // A client (one socket per subgraph and caller) lives while a subscription uses it.
    const release = () => {
      if (released) return;
      released = true;
      if (--entry.users === 0) {
        this.clients.delete(key);
        void this.dispose(entry.client);
      }
    };
    const unsubscribe = entry.client.subscribe<Record<string, unknown>>(request, {
      next: (result) => {
        if (done) return;
        if (queue.length >= maxQueued) {
          failure = new UpstreamBacklogFull(serviceName, maxQueued);
          done = true;
          unsubscribe();
          release();
        } else {
          queue.push(result as ExecutionResult);
        }
        notify();
      },
      error: (err) => {
        failure = err;
        done = true;
        release();
        notify();
      },
      complete: () => {
        done = true;
        release();
        notify();
      },
    });
    const iterator: AsyncIterableIterator<ExecutionResult> = {
      next: async () => {
        for (;;) {
          const value = queue.shift();
          if (value) return { value, done: false };
          if (failure) throw failure;
          if (done) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
      return: async () => {
        done = true;
        queue.length = 0;
        unsubscribe();
        release();
        notify();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map(async ({ client }) => this.dispose(client)));
  }

  /**
   * Closes a client, also one whose socket is still connecting: graphql-ws's `dispose` awaits the
   * connection and rejects when it fails, so the attempt is terminated and the rejection observed.
   */
  private async dispose(client: Client): Promise<void> {
    try {
      client.terminate();
      await client.dispose();
    } catch (err) {
      this.options.log.debug({ err }, 'upstream subscription socket closed while connecting');
    }
  }

  private client(key: string, serviceName: string, caller: UpstreamCaller): { client: Client; users: number } {
    const existing = this.clients.get(key);
    if (existing) return existing;
    const httpUrl = this.options.urls.get(serviceName);
    if (!httpUrl) throw new Error(`no URL for subgraph "${serviceName}"`);
    const url = httpUrl.replace(/^http/, 'ws');
    const { log } = this.options;
    // A subgraph host that vanishes without closing the socket is found by pings that go unanswered.
    let socket: WebSocket | undefined;
    let pongTimer: NodeJS.Timeout | undefined;
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 5_000;
    const client = createClient({
      url,
      webSocketImpl: withHandshakeTimeout(connectTimeoutMs),
      connectionAckWaitTimeout: connectTimeoutMs,
      connectionParams: caller.connectionParams,
      lazy: true,
      lazyCloseTimeout: 5_000,
      keepAlive: KEEP_ALIVE_MS,
      // A dropped socket fails its subscriptions at once: each shared subscription reopens itself,
      // from its last cursor where it can (shared.ts), which graphql-ws's own retry could not do.
      retryAttempts: 0,
      on: {
        connected: (opened) => {
          socket = opened as WebSocket;
          log.debug({ subgraph: serviceName, url }, 'upstream subscription socket open');
        },
        ping: (received) => {
          if (received) return;
          pongTimer = setTimeout(() => socket?.close(4408, 'no pong from the subgraph'), PONG_TIMEOUT_MS);
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
        closed: (event) => {
          clearTimeout(pongTimer);
          log.debug({ subgraph: serviceName, code: (event as { code?: number }).code }, 'upstream subscription socket closed');
        },
      },
    });
    const entry = { client, users: 0 };
    this.clients.set(key, entry);
    return entry;
  }
}

/**
 * The `ws` WebSocket with a bound on its opening handshake (graphql-ws constructs it with url and
 * protocol only). It always has an `error` listener: graphql-ws detaches its own when it gives up
 * on a socket still connecting, and `ws` then emits the aborted handshake's error with nobody
 * listening, which would be an uncaught exception. graphql-ws learns of failures through `close`.
 */
function withHandshakeTimeout(handshakeTimeout: number): unknown {
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { handshakeTimeout });
      this.on('error', () => undefined);
    }
  };
}
