/**
 * The subgraph transport against a real HTTP server on 127.0.0.1: the connection cap holds under a
 * burst (the rest wait in the queue), a request's deadline counts its time in the queue, and
 * identical queries in flight are sent once per caller.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../lib/logger.ts';
import { SubgraphClient } from './transport.ts';

const log = createLogger('test', 'silent');

/** A subgraph that answers after `delayMs`, counting requests and the connections open at once. */
class SlowSubgraph {
  delayMs = 0;
  /** Characters of padding in each answer (in its extensions). */
  padding = 0;
  requests = 0;
  open = 0;
  mostOpen = 0;
  readonly server = createServer((req: IncomingMessage, res: ServerResponse) => {
    this.requests++;
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ data: { ok: true }, ...(this.padding > 0 && { extensions: { pad: 'x'.repeat(this.padding) } }) }));
      }, this.delayMs);
    });
  });

  constructor() {
    this.server.on('connection', (socket) => {
      this.open++;
      this.mostOpen = Math.max(this.mostOpen, this.open);
      socket.on('close', () => this.open--);
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql`;
  }
}

describe('subgraph transport', { timeout: 30_000 }, () => {
  const subgraph = new SlowSubgraph();
  const clients: SubgraphClient[] = [];
  const client = (connections: number, timeoutMs: number, maxResponseBytes = 1_000_000) => {
    const c = new SubgraphClient({
      name: 'slow',
      url: subgraph.url,
      timeoutMs,
      connections,
      maxResponseBytes,
      identitySecret: 's'.repeat(32),
      log,
    });
    clients.push(c);
    return c;
  };
  before(() => new Promise<void>((resolve) => subgraph.server.listen(0, '127.0.0.1', resolve)));
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    subgraph.server.closeAllConnections();
    await new Promise((resolve) => subgraph.server.close(resolve));
  });

  test('a burst of 20 requests uses at most the 2 connections allowed, and every one is answered', async () => {
    subgraph.delayMs = 50;
    subgraph.mostOpen = 0;
    const c = client(2, 10_000);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => c.send({ query: `{ ok${i} }`, variables: {} }, {}, 'own')));
    assert.deepEqual(
      answers.filter((a) => a.errors),
      [],
    );
    assert.ok(subgraph.mostOpen <= 2, `${subgraph.mostOpen} connections at once`);
  });

  test("a request's deadline counts its time in the queue", async () => {
    subgraph.delayMs = 1_000;
    const c = client(1, 2_500);
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => c.send({ query: `{ q${i} }`, variables: {} }, {}, 'own')));
    assert.deepEqual(answers[0], { data: { ok: true } });
    // The fourth waits for three answers of 1 s each on the one connection: past its 2.5 s.
    assert.deepEqual(answers[3]!.errors, [
      { message: 'subgraph "slow" is unavailable: no answer within 2500 ms', extensions: { code: 'SUBGRAPH_UNAVAILABLE' } },
    ]);
  });

  test('an answer larger than the limit is cut off: the subgraph counts as unavailable, with the reason', async () => {
    subgraph.delayMs = 0;
    subgraph.padding = 5_000;
    try {
      const c = client(1, 10_000, 1_000);
      assert.deepEqual(await c.send({ query: '{ big }', variables: {} }, {}, 'own'), {
        errors: [
          { message: 'subgraph "slow" is unavailable: the answer is larger than 1000 bytes', extensions: { code: 'SUBGRAPH_UNAVAILABLE' } },
        ],
      });
      // The same answer within a larger limit is read.
      assert.equal((await client(1, 10_000, 10_000).send({ query: '{ big }', variables: {} }, {}, 'own')).errors, undefined);
    } finally {
      subgraph.padding = 0;
    }
  });

  test('identical queries in flight are sent once per caller; sent on their own, each goes', async () => {
    subgraph.delayMs = 100;
    const c = client(8, 10_000);
    const send = (mode: 'own' | 'share', subject = 'a', name = 'Q') =>
      c.send(
        { query: `query ${name} { same }`, variables: { v: 1 }, operationName: name },
        { principal: { subject, customerId: null, scopes: [] } },
        mode,
      );
    const before = subgraph.requests;
    const shared = await Promise.all([send('share'), send('share', 'a', 'Other'), send('share'), send('share', 'b')]);
    assert.equal(subgraph.requests - before, 2, 'one request for caller a (whatever the operation name), one for caller b');
    // Each its own copy of the answer: merging writes into it.
    assert.notEqual(shared[0], shared[2]);
    const own = subgraph.requests;
    await Promise.all([send('own'), send('own'), send('own')]);
    assert.equal(subgraph.requests - own, 3);
  });
});
