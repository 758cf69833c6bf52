/**
 * End to end, from a topic: `interchange subgraph new inventory --from-topic` in a scratch copy of the
 * project writes a projection subgraph that type-checks, passes its own test and composes; started as
 * a process on the embedded log, it projects the events posted to its inlet (an invalid one is
 * dead-lettered), answers its queries from them, streams them on its resumable subscription, and
 * has them again after a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startChild, type Child } from '../../lib/supervisor.ts';
import { postGraphQL } from '../support/graphql.ts';
import { identityConnectionParams, identityHeaders, TEST_IDENTITY_SECRET } from '../support/identity.ts';
import { waitFor, withTimeout } from '../support/wait.ts';
import { assertRefusesUnsigned, inventoryTopic, runTestFile, scratchProject, subgraphNew, typecheck, type Scratch } from './support.ts';

const received = (sku: string, quantity: number, eventId = `${sku}-received-${quantity}`) => ({
  type: 'StockReceived',
  eventId,
  sku,
  warehouse: 'north',
  quantity,
  occurredAt: '2026-12-01T10:00:00Z',
});

describe('interchange subgraph new --from-topic', () => {
  let scratch: Scratch | undefined;
  let subgraph: Child<'http' | 'ops'> | undefined;
  let client: Client | undefined;
  let dataDir: string;

  before(async () => {
    scratch = await scratchProject();
    dataDir = await mkdtemp(join(tmpdir(), 'interchange-inventory-data-'));
  });
  after(async () => {
    await client?.dispose();
    await subgraph?.stop();
    await scratch?.remove();
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = async () =>
    (subgraph = await startChild({
      name: 'inventory-subgraph',
      entry: join(scratch!.root, 'subgraphs/inventory/main.ts'),
      env: { LOG_LEVEL: 'warn', IDENTITY_SECRET: TEST_IDENTITY_SECRET, DATA_DIR: dataDir },
      listeners: ['http', 'ops'],
    }));
  const query = async <D>(text: string) =>
    (await postGraphQL<D>(`http://127.0.0.1:${subgraph!.ports.http}/graphql`, text, {}, identityHeaders())).body;
  const publish = async (events: unknown) => {
    const response = await fetch(`http://127.0.0.1:${subgraph!.ports.ops}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    assert.equal(response.status, 200, await response.text());
  };
  const readiness = async () =>
    (await (await fetch(`http://127.0.0.1:${subgraph!.ports.ops}/readyz`)).json()) as {
      ready: boolean;
      eventLog: string;
      projection: { applied: number; deadLettered: number };
    };

  test('writes the SDL, the code, the event schemas and the registry entry, and composes', { timeout: 120_000 }, async (t) => {
    const started = performance.now();
    const run = await subgraphNew(scratch!.root, 'inventory', ...inventoryTopic);
    assert.equal(run.code, 0, run.stderr);
    for (const file of [
      'schema/events/inventory/stock-received.json',
      'schema/subgraphs/inventory.graphql',
      'subgraphs/inventory/index.ts',
      'subgraphs/inventory/resolvers.ts',
    ])
      assert.match(run.stdout, new RegExp(`wrote ${file.replaceAll('.', '\\.')}\\n`));
    const registry = await readFile(join(scratch!.root, 'schema/subgraphs.yaml'), 'utf8');
    assert.match(registry, /- name: inventory\n(.*\n)* {6}KAFKA_BROKERS: \$\{KAFKA_BROKERS\}\n {6}DATA_DIR: \$\{DATA_DIR\}\n$/);
    const supergraph = await readFile(join(scratch!.root, 'schema/supergraph.graphql'), 'utf8');
    assert.match(supergraph, /type StockLevel\n {2}@join__type\(graph: INVENTORY, key: "sku"\)/);
    assert.match(supergraph, /stockLevelEvents\(\n[\s\S]*?\n {2}\): StockLevelEvent! @join__field\(graph: INVENTORY\) @resumable/);
    t.diagnostic(`scaffolded in ${Math.round(performance.now() - started)} ms (the CLI's process included)`);
  });

  test('the generated code type-checks and its own test passes', { timeout: 180_000 }, async () => {
    assert.equal(await typecheck(scratch!.root, ['subgraphs/inventory']), '');
    const own = await runTestFile(join(scratch!.root, 'subgraphs/inventory/subgraph.test.ts'));
    assert.equal(own.code, 0, own.output);
  });

  test(
    'as a process on the embedded log: projects posted events, dead-letters an invalid one, streams them, and keeps them across a restart',
    { timeout: 120_000 },
    async () => {
      await start();
      assert.equal((await readiness()).eventLog, 'embedded');
      client = createClient({
        url: `ws://127.0.0.1:${subgraph!.ports.http}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazyCloseTimeout: 0,
        connectionParams: identityConnectionParams(),
      });
      const streamed: { cursor: string; type: string; stockLevel: { sku: string; quantity: number } }[] = [];
      const errors: unknown[] = [];
      client.subscribe<{ stockLevelEvents: (typeof streamed)[number] }>(
        { query: 'subscription { stockLevelEvents { cursor type stockLevel { sku quantity } } }' },
        {
          next: (r) => (r.data ? streamed.push(r.data.stockLevelEvents) : errors.push(r.errors)),
          error: (e) => errors.push(e),
          complete: () => {},
        },
      );
      await waitFor(async () => (await readiness()).ready, 30_000, 'the projection never caught up');
      // The subscription opens live: wait until it is open before publishing (the subgraph counts it).
      await waitFor(
        async () => /inventory_subscriptions_active 1/.test(await (await fetch(`http://127.0.0.1:${subgraph!.ports.ops}/metrics`)).text()),
        10_000,
        'the subscription never opened',
      );
      await publish([
        received('A-1', 5),
        received('B-2', 7),
        { type: 'StockAdjusted', eventId: 'a-adjusted', sku: 'A-1', quantity: 4, reason: 'count', location: { aisle: '3', shelf: 2 } },
        { type: 'StockAdjusted', eventId: 'bad', sku: 'A-1', quantity: -1 },
        received('A-1', 5), // the same event again: a duplicate, applied once
      ]);
      await waitFor(async () => (await readiness()).projection.deadLettered === 1 && streamed.length >= 3, 10_000, 'events missing');
      assert.deepEqual(errors, []);
      // In order per key (per partition); keys on other partitions interleave as they were applied.
      assert.deepEqual(streamed.map((e) => `${e.stockLevel.sku}:${e.type}:${e.stockLevel.quantity}`).sort(), [
        'A-1:StockAdjusted:4',
        'A-1:StockReceived:5',
        'B-2:StockReceived:7',
      ]);
      assert.deepEqual(
        streamed.filter((e) => e.stockLevel.sku === 'A-1').map((e) => e.type),
        ['StockReceived', 'StockAdjusted'],
      );
      const expected = {
        data: {
          one: { sku: 'A-1', quantity: 4, warehouse: 'north', reason: 'count', location: { aisle: '3', shelf: 2 } },
          none: null,
          first: [{ sku: 'A-1' }],
          next: [{ sku: 'B-2' }],
          _entities: [{ sku: 'B-2', quantity: 7 }],
        },
      };
      const QUERY = `{
        one: stockLevel(id: "A-1") { sku quantity warehouse reason location { aisle shelf } }
        none: stockLevel(id: "Z-9") { sku }
        first: stockLevels(first: 1) { sku }
        next: stockLevels(first: 5, after: "A-1") { sku }
        _entities(representations: [{ __typename: "StockLevel", sku: "B-2" }]) { ... on StockLevel { sku quantity } }
      }`;
      assert.deepEqual(await query(QUERY), expected);
      const { applied, deadLettered } = (await readiness()).projection;
      assert.deepEqual({ applied, deadLettered }, { applied: 3, deadLettered: 1 });

      // Resuming after the first event's cursor replays the two after it.
      const replayed: string[] = [];
      const expectedReplay = streamed.slice(1).map((e) => e.type);
      let stopReplay = () => {};
      const replay = new Promise<void>((resolve, reject) => {
        const stop = (stopReplay = client!.subscribe<{ stockLevelEvents: { type: string } }>(
          { query: `subscription { stockLevelEvents(after: "${streamed[0]!.cursor}") { type } }` },
          {
            next: (r) => {
              if (r.data) replayed.push(r.data.stockLevelEvents.type);
              if (replayed.length === 2) {
                stop();
                resolve();
              }
            },
            error: reject,
            complete: () => {},
          },
        ));
      });
      try {
        await withTimeout(replay, 20_000, 'the resumed subscription did not replay the two events after the first cursor');
      } finally {
        stopReplay();
      }
      assert.deepEqual(replayed, expectedReplay);

      await client.dispose();
      client = undefined;
      await subgraph!.stop();
      await start();
      await waitFor(async () => (await readiness()).ready, 30_000, 'the restarted projection never caught up');
      assert.deepEqual(await query(QUERY), expected, 'the same answers after a restart');
    },
  );
  test("as a process, it refuses a call without the gateway's signed identity", { timeout: 30_000 }, async () => {
    assert.ok(subgraph, 'the subgraph process was started by the test before');
    await assertRefusesUnsigned(`http://127.0.0.1:${subgraph.ports.http}`);
  });
});
