/**
 * Upstream subscriptions to subgraphs over graphql-ws: one client (one socket, many multiplexed
 * subscriptions) per subgraph and caller identity, opened on first use and closed when unused. A
 * dropped socket fails its subscriptions; the shared subscriptions reopen themselves.
 */
import type { ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Logger } from '../../../lib/logger.ts';

export interface UpstreamRequest {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string | undefined;
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
}

const clientKey = (serviceName: string, connectionParams: Record<string, unknown>) =>
  `${serviceName}\u0000${JSON.stringify(connectionParams)}`;

const KEEP_ALIVE_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;

export class UpstreamConnections {
  private readonly clients = new Map<string, { client: Client; users: number }>();
  private opened = 0;

  private readonly options: UpstreamOptions;

  constructor(options: UpstreamOptions) {
    this.options = options;
  }

  /** Upstream subscriptions opened so far (for metrics and tests). */
  get subscriptionsOpened(): number {
    return this.opened;
  }

  /**
   * Opens an upstream subscription. Events wait in a queue of at most `maxQueued` until the caller
   * takes them; when the caller falls further behind, the iterator throws `UpstreamBacklogFull`
   * (and the upstream subscription is released) instead of holding ever more events in memory.
   */
  subscribe(
    serviceName: string,
    request: UpstreamRequest,
    connectionParams: Record<string, unknown>,
    maxQueued: number,
  ): AsyncIterableIterator<ExecutionResult> {
    this.opened++;
    const queue: ExecutionResult[] = [];
    let failure: unknown;
    let done = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const key = clientKey(serviceName, connectionParams);
    const entry = this.client(key, serviceName, connectionParams);
    entry.users++;
    let released = false;
    // A client (one socket per subgraph and identity) lives while a subscription uses it.
    const release = () => {
      if (released) return;
      released = true;
      if (--entry.users === 0) {
        this.clients.delete(key);
        void entry.client.dispose();
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
    await Promise.all([...this.clients.values()].map(async ({ client }) => client.dispose()));
    this.clients.clear();
  }

  private client(key: string, serviceName: string, connectionParams: Record<string, unknown>): { client: Client; users: number } {
    const existing = this.clients.get(key);
    if (existing) return existing;
    const httpUrl = this.options.urls.get(serviceName);
    if (!httpUrl) throw new Error(`no URL for subgraph "${serviceName}"`);
    const url = httpUrl.replace(/^http/, 'ws');
    const { log } = this.options;
    // A subgraph host that vanishes without closing the socket is found by pings that go unanswered.
    let socket: WebSocket | undefined;
    let pongTimer: NodeJS.Timeout | undefined;
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams,
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
