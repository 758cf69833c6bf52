/**
 * GraphQL over WebSocket (the `graphql-transport-ws` protocol, `graphql-ws`) on a process's HTTP
 * server, at the GraphQL path. The protocol itself (init/ack, ping/pong, subscribe/next/error/
 * complete, and the close codes for misuse) is graphql-ws's; this module attaches it, turns away
 * upgrades to other paths, and closes every socket with 1001 (going away) on stop.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerOptions } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Stoppable } from './lifecycle.ts';
import type { Logger } from './logger.ts';

export type { Extra as WebSocketExtra };

export interface WebSocketHostOptions<P extends Record<string, unknown> | undefined, E extends Record<PropertyKey, unknown>> {
  httpServer: Server;
  path: string;
  log: Logger;
  graphql: ServerOptions<P, Extra & Partial<E>>;
  /** Interval of WebSocket pings that find dead connections, in ms. Default 12 000. */
  keepAliveMs?: number;
  /** Largest accepted message, in bytes. Default 1 MB. */
  maxPayloadBytes?: number;
}

export interface WebSocketHost extends Stoppable {
  /** Sockets open now. */
  connections(): number;
}

export function serveGraphQLOverWebSocket<P extends Record<string, unknown> | undefined, E extends Record<PropertyKey, unknown>>(
  options: WebSocketHostOptions<P, E>,
): WebSocketHost {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 1_000_000 });
  const server = useServer<P, E>({ ...options.graphql, isProd: true }, wss, options.keepAliveMs ?? 12_000);
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  options.httpServer.on('upgrade', onUpgrade);
  wss.on('error', (err) => options.log.warn({ err }, 'websocket server error'));
  let stopped: Promise<void> | undefined;
  return {
    connections: () => wss.clients.size,
    stop: () =>
      (stopped ??= (async () => {
        options.httpServer.off('upgrade', onUpgrade);
        await server.dispose(); // closes every socket with 1001 "Going away"
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      })()),
  };
}
