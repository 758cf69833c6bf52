/**
 * The upstream graphql-ws client against misbehaving subgraph sockets on 127.0.0.1: one that never
 * answers the WebSocket handshake, one that never acknowledges the connection.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { createLogger } from '../../../lib/logger.ts';
import { quietPeriod, waitFor, withTimeout } from '../../../test/support/wait.ts';
import { UpstreamConnections, type UpstreamCaller } from './upstream.ts';

const log = createLogger('test', 'silent');
const request = { query: 'subscription { events { id } }', variables: {} };
const NOBODY: UpstreamCaller = { key: '', connectionParams: () => ({}) };

describe('upstream subscription sockets', () => {
  /** Accepts TCP connections and never answers: a WebSocket handshake to it hangs. */
  let silent: Server;
  const silentSockets = new Set<Socket>();
  /** Completes the WebSocket handshake and never sends connection_ack. */
  let mute: WebSocketServer;
  const failures: unknown[] = [];
  const onFailure = (err: unknown) => failures.push(err);

  before(async () => {
    process.on('unhandledRejection', onFailure);
    process.on('uncaughtException', onFailure);
    silent = createServer((socket) => {
      silentSockets.add(socket);
      socket.once('close', () => silentSockets.delete(socket));
    }).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    mute = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => [...protocols][0] ?? false });
    await once(mute, 'listening');
  });
  after(async () => {
    process.off('unhandledRejection', onFailure);
    process.off('uncaughtException', onFailure);
    for (const socket of silentSockets) socket.destroy();
    for (const client of mute.clients) client.terminate();
    await Promise.all([new Promise((resolve) => silent.close(resolve)), new Promise((resolve) => mute.close(resolve))]);
  });

  const connections = (port: number, connectTimeoutMs: number) =>
    new UpstreamConnections({ urls: new Map([['events', `http://127.0.0.1:${port}/graphql`]]), log, connectTimeoutMs });

  const port = (server: Server | WebSocketServer) => (server.address() as { port: number }).port;

  test('releasing the last subscription while its socket is still connecting neither rejects unobserved nor throws', async () => {
    const upstream = connections(port(silent), 300);
    const iterator = upstream.subscribe('events', request, NOBODY, 10);
    const next = iterator.next();
    await waitFor(() => silentSockets.size > 0, 5_000, 'the socket never connected');
    await iterator.return!();
    assert.deepEqual(await withTimeout(next, 5_000, 'the released subscription never ended'), { value: undefined, done: true });
    for (const socket of silentSockets) socket.destroy(); // the connection attempt fails now
    await quietPeriod(500); // and past the handshake timeout: a late failure would show by now
    await upstream.close();
    assert.deepEqual(failures, []);
  });

  test('a WebSocket handshake that never completes fails the subscription within the connect timeout', async () => {
    const upstream = connections(port(silent), 300);
    const iterator = upstream.subscribe('events', request, NOBODY, 10);
    await assert.rejects(withTimeout(iterator.next(), 5_000, 'the handshake never timed out'), (err: unknown) => {
      assert.doesNotMatch(String(err), /timed out after 5000 ms/);
      return true;
    });
    await upstream.close();
    assert.deepEqual(failures, []);
  });

  test('a subgraph that never sends connection_ack fails the subscription with close code 4504', async () => {
    const upstream = connections(port(mute), 300);
    const iterator = upstream.subscribe('events', request, NOBODY, 10);
    await assert.rejects(withTimeout(iterator.next(), 5_000, 'connection_ack was never given up on'), (err: unknown) => {
      assert.equal((err as { code?: unknown }).code, 4504);
      return true;
    });
    await upstream.close();
    assert.deepEqual(failures, []);
  });
});
