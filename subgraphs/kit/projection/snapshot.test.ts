/** The kit's snapshot file, whatever its entities are called: a save reads back whole. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLogger } from '../../../lib/logger.ts';
import { SnapshotStore, type Snapshot } from './snapshot.ts';
import { isTopicEntity, type TopicEntity, type TopicEvent } from './topic.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const entity = (key: string, version: number): TopicEntity => ({ sku: key, __key: key, __version: version });
const snapshot: Snapshot<TopicEntity, TopicEvent> = {
  topic: 'things.events',
  projector: {
    projection: { positions: [2, 1], entities: [entity('a', 2), entity('b', 1)] },
    counters: { applied: 3, deadLettered: 0 },
  },
  journal: {
    seq: 3,
    partitions: 2,
    retainedFrom: [0, 0],
    entries: [
      { seq: 1, partition: 0, offset: 0, id: 'e1', type: 'Moved', occurredAt: undefined, entity: entity('a', 1), positions: [1, 0] },
      { seq: 2, partition: 1, offset: 0, id: 'e2', type: 'Moved', occurredAt: undefined, entity: entity('b', 1), positions: [1, 1] },
      { seq: 3, partition: 0, offset: 1, id: 'e3', type: 'Moved', occurredAt: undefined, entity: entity('a', 2), positions: [2, 1] },
    ],
  },
};

async function storeFor(entities: string) {
  const dir = await mkdtemp(join(tmpdir(), 'kit-snapshot-'));
  dirs.push(dir);
  return new SnapshotStore<TopicEntity, TopicEvent>({
    file: join(dir, 'projection.snapshot'),
    topic: 'things.events',
    logger: createLogger('kit-snapshot-test', 'silent'),
    names: {
      format: 'interchange.things-snapshot',
      name: 'things',
      entity: 'thing',
      entities,
      keyOf: (e) => e.__key,
      isEntity: isTopicEntity,
    },
  });
}

describe('kit snapshots', () => {
  for (const entities of ['entries', 'positions', 'partitions', 'counters', 'things'])
    test(`entities called \`${entities}\` (a header key or not) save and load back whole`, async () => {
      const store = await storeFor(entities);
      await store.save(snapshot);
      const loaded = await store.load([5, 5]);
      assert.ok(loaded, 'the snapshot was discarded');
      assert.deepEqual(loaded.projector, snapshot.projector);
      assert.deepEqual(
        loaded.journal.entries.map((e) => [e.id, e.entity]),
        snapshot.journal.entries.map((e) => [e.id, e.entity]),
      );
    });

  test('a file of an older version, its entity count only under the entities’ name, still loads', async () => {
    const store = await storeFor('things');
    await store.save(snapshot);
    const [header, ...lines] = (await readFile(store.file, 'utf8')).split('\n');
    const { entityCount, ...older } = JSON.parse(header!) as Record<string, unknown>;
    assert.deepEqual([entityCount, older['things']], [2, 2]);
    await writeFile(store.file, [JSON.stringify(older), ...lines].join('\n'));
    assert.deepEqual((await store.load([5, 5]))?.projector, snapshot.projector);
  });
});
