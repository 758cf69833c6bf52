/**
 * A subgraph scaffolded from a topic (`interchange subgraph new --from-topic`) on Kafka (the mock
 * cluster): unmodified, it projects the records a producer publishes to its topic, dead-letters one
 * its schema refuses to `<topic>.dlq`, and answers its queries from them; the embedded log's
 * `POST /events` inlet is not there.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KafkaEventLog } from '../../lib/eventlog/kafka.ts';
import { startChild, type Child } from '../../lib/supervisor.ts';
import { postGraphQL } from '../support/graphql.ts';
import { identityHeaders, TEST_IDENTITY_SECRET } from '../support/identity.ts';
import { waitFor, withTimeout } from '../support/wait.ts';
import { inventoryTopic, scratchProject, subgraphNew, type Scratch } from '../scaffold/support.ts';
import { buildMockBroker, startMockCluster, type MockCluster } from './mock-cluster.ts';
import { kafkaEnv } from './orders-support.ts';

let cluster: MockCluster | undefined;
let scratch: Scratch | undefined;
let subgraph: Child<'http' | 'ops'> | undefined;
let producer: KafkaEventLog | undefined;
let dataDir: string | undefined;

before(async () => {
  await withTimeout(buildMockBroker(), 180_000, 'build mock-broker');
  cluster = await startMockCluster({
    brokers: 1,
    topics: [
      { name: 'inventory.events', partitions: 3 },
      { name: 'inventory.events.dlq', partitions: 1 },
    ],
  });
  scratch = await scratchProject();
  dataDir = await mkdtemp(join(tmpdir(), 'interchange-data-'));
});
after(async () => {
  await subgraph?.stop();
  await producer?.close();
  await cluster?.stop();
  await scratch?.remove();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test(
  'the scaffolded topic subgraph projects what a Kafka producer publishes, and dead-letters what its schema refuses',
  { timeout: 180_000 },
  async () => {
    const run = await subgraphNew(scratch!.root, 'inventory', ...inventoryTopic);
    assert.equal(run.code, 0, run.stderr);
    subgraph = await startChild({
      name: 'inventory-subgraph',
      entry: join(scratch!.root, 'subgraphs/inventory/main.ts'),
      env: {
        ...kafkaEnv,
        KAFKA_BROKERS: cluster!.bootstrap,
        LOG_LEVEL: 'warn',
        DATA_DIR: dataDir!,
        IDENTITY_SECRET: TEST_IDENTITY_SECRET,
      },
      listeners: ['http', 'ops'],
    });
    const ops = `http://127.0.0.1:${subgraph.ports.ops}`;
    const readiness = async () =>
      (await (await fetch(`${ops}/readyz`)).json()) as {
        ready: boolean;
        eventLog: string;
        projection: { applied: number; deadLettered: number };
      };
    assert.equal((await readiness()).eventLog, 'kafka');
    assert.equal((await fetch(`${ops}/events`, { method: 'POST' })).status, 404, 'no inlet on Kafka: producers publish to the topic');

    producer = new KafkaEventLog({
      brokers: cluster!.brokers,
      clientId: 'inventory-producer',
      connectionTimeoutMs: 1_000,
      requestTimeoutMs: 5_000,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const record = (event: Record<string, unknown>) => ({ key: String(event['sku']), value: JSON.stringify(event) });
    await producer.publish('inventory.events', [
      record({ type: 'StockReceived', eventId: 'e1', sku: 'A-1', warehouse: 'north', quantity: 5 }),
      record({ type: 'StockReceived', eventId: 'e2', sku: 'B-2', warehouse: 'south', quantity: 9 }),
      record({ type: 'StockAdjusted', eventId: 'e3', sku: 'A-1', quantity: 4, tags: ['counted'] }),
      record({ type: 'StockAdjusted', eventId: 'e4', sku: 'A-1', quantity: 'many' }),
    ]);
    await waitFor(
      async () => {
        const { projection } = await readiness();
        return projection.applied === 3 && projection.deadLettered === 1;
      },
      60_000,
      'the projection never applied the three events and dead-lettered the fourth',
    );
    const answer = await postGraphQL(
      `http://127.0.0.1:${subgraph.ports.http}/graphql`,
      '{ stockLevel(id: "A-1") { sku quantity warehouse tags } stockLevels(first: 5) { sku quantity } }',
      {},
      identityHeaders(),
    );
    assert.deepEqual(answer.body, {
      data: {
        stockLevel: { sku: 'A-1', quantity: 4, warehouse: 'north', tags: ['counted'] },
        stockLevels: [
          { sku: 'A-1', quantity: 4 },
          { sku: 'B-2', quantity: 9 },
        ],
      },
    });
    const deadLetters = await producer.endOffsets('inventory.events.dlq');
    assert.equal(
      deadLetters.reduce((a, b) => a + b, 0),
      1,
      'the refused record is on the dead-letter topic',
    );
  },
);
