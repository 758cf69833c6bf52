/**
 * GraphQL over WebSocket (the `graphql-transport-ws` protocol, `graphql-ws`) on a process's HTTP
 * server, at the GraphQL path. graphql-ws's protocol core (`makeServer`) handles init/ack,
 * ping/pong, subscribe/next/error/complete and the close codes; this module binds it to `ws`:
 *
 * - upgrades to other paths are turned away with 404, a handshake `ws` would refuse with 400 or 405
 *   (a non-GET, a missing or malformed `Sec-WebSocket-Key`, an unsupported version) with that status,
 *   and those `refuseUpgrade` refuses (an origin not allowed, a cap) with its status; each with
 *   coded JSON (`ws`'s own refusals are plain text), before any WebSocket exists;
 * - a message type that only a server may send (`next`, `error`, `connection_ack`) closes the socket
 *   with 4400, as the protocol document says of any message it does not allow (the core would close
 *   with 4500 and print a stack trace: an unauthenticated client could flood the log that way);
 * - failures are logged through the process's logger, never the console;
 * - WebSocket pings find dead peers; `stop` closes every socket with 1001 (going away).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, MessageType, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorJson, rawJsonResponse } from './client-errors.ts';
import { ErrorCode } from './errors.ts';
import { withCodedOperationErrors, type ValidationPolicy } from './graphql-validation.ts';
import type { Stoppable } from './lifecycle.ts';
import type { Logger } from './logger.ts';

/** What graphql-ws hands to hooks (context, onConnect ...) about the connection. */
export interface WebSocketExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

export interface WebSocketHostOptions<P extends Record<string, unknown> | undefined, E extends Record<PropertyKey, unknown>> {
  httpServer: Server;
  path: string;
  log: Logger;
  graphql: ServerOptions<P, WebSocketExtra & Partial<E>>;
  /** Interval of WebSocket pings that find dead connections, in ms. Default 12 000. */
  keepAliveMs?: number;
  /** Largest accepted message, in bytes. Default 1 MB. */
  maxPayloadBytes?: number;
  /** The HTTP answer to an upgrade request that must not become a WebSocket, if any. */
  refuseUpgrade?: (request: IncomingMessage) => { status: number; body: string } | undefined;
  /** Introspection and suggestions in validation errors (both on by default). */
  validation?: ValidationPolicy;
}

export interface WebSocketHost extends Stoppable {
  /** Sockets open now. */
  connections(): number;
}

/** How long `stop` waits for clients to answer the close handshake before dropping them. */
const CLOSE_GRACE_MS = 2_000;

const serverOnlyTypes = new Set<string>([MessageType.ConnectionAck, MessageType.Next, MessageType.Error]);

/** The type of a message a client sent, if it names one (the core validates the rest). */
function messageType(text: string): unknown {
  try {
    return (JSON.parse(text) as { type?: unknown } | null)?.type;
  } catch {
    return undefined;
  }
}

/** A `Sec-WebSocket-Key` as RFC 6455 has it: 16 bytes in base64. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Answers a refused upgrade and closes the socket once the answer is written: Node keeps an
 * upgrade's socket half-open (and untimed) after `end`, so a client that never closes its side
 * would hold it, and the cap slot or descriptor with it, for ever (as `ws` does for its own).
 */
function refuseHandshake(socket: Duplex, response: string): void {
  // The http server's error listener is gone once a socket is handed over for an upgrade: a client
  // resetting the connection while the answer is written would otherwise be an uncaught error.
  socket.on('error', () => socket.destroy());
  socket.once('finish', () => socket.destroy());
  socket.end(response);
}

/** What is wrong with an upgrade request's handshake, checked as `ws` checks it, with the status `ws` would answer. */
function handshakeProblem(request: IncomingMessage): { status: number; message: string } | undefined {
  if (request.method !== 'GET') return { status: 405, message: 'the method must be GET' };
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return { status: 400, message: 'the Upgrade header must be "websocket"' };
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !WEBSOCKET_KEY.test(key)) return { status: 400, message: 'missing or invalid Sec-WebSocket-Key header' };
  const version = request.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') return { status: 400, message: 'the Sec-WebSocket-Version header must be 13' };
  return undefined;
}

export function serveGraphQLOverWebSocket<P extends Record<string, unknown> | undefined, E extends Record<PropertyKey, unknown>>(
  options: WebSocketHostOptions<P, E>,
): WebSocketHost {
  const { log } = options;
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const core = makeServer<P, WebSocketExtra & Partial<E>>(withCodedOperationErrors(options.graphql, options.validation));
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 1_000_000, handleProtocols });

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const fail = (err: unknown, what: string) => {
      log.warn({ err }, `websocket: ${what}`);
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    };
    socket.once('error', (err) => fail(err, 'socket error'));

    // A peer that does not answer a ping within the next interval is gone.
    let alive = true;
    socket.on('pong', () => (alive = true));
    const pinger = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, keepAliveMs);

    const closed = core.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (err) => (err ? reject(err) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (raw) => {
            const text = String(raw);
            const type = messageType(text);
            if (typeof type === 'string' && serverOnlyTypes.has(type)) {
              socket.close(CloseCode.BadRequest, `Invalid message received: a client may not send "${type}"`);
              return;
            }
            try {
              await handle(text);
            } catch (err) {
              fail(err, 'error while handling a message');
            }
          }),
      },
      { socket, request } as WebSocketExtra & Partial<E>,
    );
    socket.once('close', (code, reason) => {
      clearInterval(pinger);
      void closed(code, String(reason));
    });
  });
  wss.on('error', (err) => log.warn({ err }, 'websocket server error'));

  // What `ws` still refuses itself after the checks below (a malformed Sec-WebSocket-Protocol): coded too.
  wss.on('wsClientError', (err: Error, socket: Duplex) => {
    refuseHandshake(socket, rawJsonResponse(400, errorJson(`not a valid WebSocket handshake: ${err.message}`, ErrorCode.BAD_REQUEST)));
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== options.path) {
      refuseHandshake(
        socket,
        rawJsonResponse(404, errorJson(`no WebSocket endpoint at this path; it is ${options.path}`, ErrorCode.NOT_FOUND)),
      );
      return;
    }
    const invalid = handshakeProblem(request);
    if (invalid) {
      refuseHandshake(
        socket,
        rawJsonResponse(invalid.status, errorJson(`not a valid WebSocket handshake: ${invalid.message}`, ErrorCode.BAD_REQUEST)),
      );
      return;
    }
    const refused = options.refuseUpgrade?.(request);
    if (refused) {
      refuseHandshake(socket, rawJsonResponse(refused.status, refused.body));
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  options.httpServer.on('upgrade', onUpgrade);

  let stopped: Promise<void> | undefined;
  return {
    connections: () => wss.clients.size,
    stop: () =>
      (stopped ??= (async () => {
        options.httpServer.off('upgrade', onUpgrade);
        for (const client of wss.clients) client.close(1001, 'Going away');
        // A peer on a dead link never answers the close handshake: do not wait for it for long.
        const force = setTimeout(() => {
          for (const client of wss.clients) client.terminate();
        }, CLOSE_GRACE_MS);
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        clearTimeout(force);
      })()),
  };
}
