/**
 * Upstream subscriptions to subgraphs over graphql-ws: one client (one socket, many multiplexed
 * subscriptions) per subgraph and caller identity, opened on first use and closed when idle. A
 * dropped socket is retried with graphql-ws's randomised exponential backoff, and its active
 * subscriptions are opened again.
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

export interface UpstreamOptions {
  /** Subgraph name -> its HTTP GraphQL URL (the WebSocket URL is derived from it). */
  urls: Map<string, string>;
  log: Logger;
  /** Reconnection attempts before an upstream subscription fails. */
  retryAttempts: number;
}

export class UpstreamConnections {
  private readonly clients = new Map<string, Client>();
  private opened = 0;

  constructor(private readonly options: UpstreamOptions) {}

  /** Upstream subscriptions opened so far (for metrics and tests). */
  get subscriptionsOpened(): number {
    return this.opened;
  }

  subscribe(serviceName: string, request: UpstreamRequest, connectionParams: Record<string, unknown>): AsyncIterableIterator<ExecutionResult> {
    this.opened++;
    return this.client(serviceName, connectionParams).iterate(request) as AsyncIterableIterator<ExecutionResult>;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.dispose()));
    this.clients.clear();
  }

  private client(serviceName: string, connectionParams: Record<string, unknown>): Client {
    const key = `${serviceName}\u0000${JSON.stringify(connectionParams)}`;
    let client = this.clients.get(key);
    if (client) return client;
    const httpUrl = this.options.urls.get(serviceName);
    if (!httpUrl) throw new Error(`no URL for subgraph "${serviceName}"`);
    const url = httpUrl.replace(/^http/, 'ws');
    const { log } = this.options;
    client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams,
      lazy: true,
      lazyCloseTimeout: 5_000,
      retryAttempts: this.options.retryAttempts,
      shouldRetry: () => true,
      on: {
        connected: () => log.debug({ subgraph: serviceName, url }, 'upstream subscription socket open'),
        closed: (event) => log.debug({ subgraph: serviceName, code: (event as { code?: number }).code }, 'upstream subscription socket closed'),
      },
    });
    this.clients.set(key, client);
    return client;
  }
}
