/**
 * The orders subgraph on Kafka (the mock cluster), killed outright (SIGKILL) after it saved a
 * snapshot and started again on the same DATA_DIR: its projection matches the whole stream, and it
 * consumed only the records published after the snapshot.
 */
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { temporaryDataDir } from '../support/data-dir.ts';
import { readCounter } from '../support/metrics.ts';
import { waitFor, withTimeout } from '../support/wait.ts';
import { buildMockBroker, startMockCluster } from './mock-cluster.ts';
import {
  Cleanups,
  expectedFor,
  projectionStatus,
  runProducer,
  startOrdersSubgraph,
  topics,
  untilOrdersMatch,
  type ProducerRun,
} from './orders-support.ts';

/** The positions in the header of the snapshot file, or undefined while there is none. */
async function snapshotPositions(dataDir: string): Promise<number[] | undefined> {
  const file = await open(join(dataDir, 'orders', 'projection.snapshot')).catch(() => undefined);
  if (!file) return undefined;
  try {
    for await (const line of file.readLines()) return (JSON.parse(line) as { positions: number[] }).positions;
    return undefined;
  } finally {
    await file.close();
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

test('killed after a snapshot and restarted, the orders subgraph replays only what came after it', { timeout: 600_000 }, async (t) => {
  // Run the last registered first: the processes stop before their DATA_DIR is removed.
  const cleanups = new Cleanups();
  t.after(() => cleanups.run());
  await buildMockBroker();
  const cluster = await startMockCluster({ brokers: 1, topics });
  cleanups.after(() => cluster.stop());
  const dataDir = await temporaryDataDir(cleanups);
  const settings = { SNAPSHOT_INTERVAL_MS: '300' };

  const first = await startOrdersSubgraph(cluster, dataDir, settings);
  cleanups.after(() => first.stop());
  const firstOps = `http://127.0.0.1:${first.ports.ops}`;
  const before: ProducerRun = { orders: 120, seed: 71, prefix: 'snap-before' };
  const sentBefore = await runProducer(t, cluster.bootstrap, before);
  await waitFor(
    async () => (await projectionStatus(firstOps)).projection.applied === sentBefore,
    120_000,
    'the first run applied everything',
    250,
  );
  await waitFor(async () => sum((await snapshotPositions(dataDir)) ?? []) === sentBefore, 60_000, 'no snapshot of everything', 100);
  first.process.kill('SIGKILL');
  await withTimeout(first.exited, 60_000, 'the killed orders subgraph did not exit');

  const afterwards: ProducerRun = { orders: 50, seed: 72, prefix: 'snap-after' };
  const sentAfter = await runProducer(t, cluster.bootstrap, afterwards);
  const second = await startOrdersSubgraph(cluster, dataDir, settings);
  cleanups.after(() => second.stop());
  const url = `http://127.0.0.1:${second.ports.http}`;
  const ops = `http://127.0.0.1:${second.ports.ops}`;
  await untilOrdersMatch(
    ops,
    `${url}/graphql`,
    [...expectedFor(before), ...expectedFor(afterwards)],
    'the restarted projection matches both runs',
  );

  const consumed = await readCounter(`${ops}/metrics`, 'orders_projection_events_total', {});
  assert.equal(consumed, sentAfter, `consumed ${consumed} records after the restart; only the ${sentAfter} after the snapshot were due`);
  const { projection } = await projectionStatus(ops);
  assert.equal(projection.applied, sentBefore + sentAfter, 'the counters continue from the snapshot');
  assert.equal(projection.deadLettered, 0);
});
