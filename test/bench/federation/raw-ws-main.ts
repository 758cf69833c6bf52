/**
 * `node test/bench/federation/raw-ws-main.ts`: the ceiling the subscriptions scenario compares the
 * gateway with: a bare `ws` server that does only the last step of a subscription delivery. On
 * HOST:PORT (default 127.0.0.1, a free port), announced to the bench that started it (listener
 * `http`):
 *
 *   ws://.../                            clients connect; each gets an id (a UUID, as graphql-ws's are)
 *   GET  /clients                        `{ clients }`: sockets open now
 *   POST /send?rate=R&count=N&bytes=B    sends N rounds, R per second (evenly spaced, from now): in
 *                                        each, every client gets a JSON message of B bytes shaped like
 *                                        a graphql-ws `next` (its id, `createdAt` = the round's time,
 *                                        a padding string), serialized per client as a server with
 *                                        distinct subscriptions must; then answers `{ sent, clients, seconds }`
 *
 * No GraphQL, no upstream, no resolution: what is left is serializing and writing to sockets.
 * Stops on SIGTERM or when the bench goes away.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { announceListening, closeServer, listen, runMain } from '../../../lib/lifecycle.ts';
import { createLogger } from '../../../lib/logger.ts';

/** Bounds of one `POST /send`: rounds per second, rounds, message size, and how long it may take. */
const MAX_RATE = 10_000;
const MAX_ROUNDS = 1_000_000;
const MAX_BYTES = 1_000_000;
const MAX_SECONDS = 280;

/** One client's message of about `bytes` bytes (never less than its unpadded shape). */
const message = (id: string, createdAt: number, pad: string) =>
  JSON.stringify({ id, type: 'next', payload: { data: { reviewAdded: { createdAt, pad } } } });

runMain('bench-raw-ws', async () => {
  const log = createLogger('bench-raw-ws', 'warn');
  const host = process.env['HOST'] ?? '127.0.0.1';
  const ids = new Map<WebSocket, string>();

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  // Round i is due at start + i / rate: a late one does not push back those after it.
  const rounds = async (rate: number, count: number, bytes: number) => {
    const clients = ids.size;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      const createdAt = Date.now();
      const pad = 'x'.repeat(Math.max(0, bytes - message(randomUUID(), createdAt, '').length));
      for (const [socket, id] of ids) socket.send(message(id, createdAt, pad));
    }
    return { sent: count, clients, seconds: (performance.now() - start) / 1000 };
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/clients') return send(res, 200, { clients: ids.size });
    if (req.method !== 'POST' || url.pathname !== '/send') return send(res, 404, { error: `nothing at ${req.method} ${url.pathname}` });
    const rate = Number(url.searchParams.get('rate'));
    const count = Number(url.searchParams.get('count'));
    const bytes = Number(url.searchParams.get('bytes'));
    if (
      !(rate > 0 && rate <= MAX_RATE) ||
      !Number.isInteger(count) ||
      count < 0 ||
      count > MAX_ROUNDS ||
      count / rate > MAX_SECONDS ||
      !(bytes >= 0 && bytes <= MAX_BYTES)
    )
      return send(res, 400, { error: `rate (0-${MAX_RATE}/s), count (0-${MAX_ROUNDS}), bytes (0-${MAX_BYTES}); at most ${MAX_SECONDS} s` });
    rounds(rate, count, bytes).then(
      (result) => send(res, 200, result),
      (err: unknown) => send(res, 500, { error: String(err) }),
    );
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    ids.set(socket, randomUUID());
    socket.on('close', () => ids.delete(socket));
    socket.on('error', () => ids.delete(socket));
  });
  announceListening(log, 'http', host, await listen(server, Number(process.env['PORT'] ?? 0), host));
  return {
    stoppable: {
      stop: async () => {
        for (const socket of wss.clients) socket.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await closeServer(server, 1_000);
      },
    },
    log,
  };
});
