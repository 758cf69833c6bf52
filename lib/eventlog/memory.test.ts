/**
 * The in-process event log: the contract suite, plus what only it promises (Kafka's key
 * partitioning, no handler call inside publish, members of one group sharing partitions, close).
 *
 * The contract runs twice: in memory only, and kept on disk (reopening: memory-files.test.ts).
 *
 * Run: node --test lib/eventlog/memory.test.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import type { PartitionMetadata } from 'kafkajs';
import { eventLogContract } from '../../test/support/eventlog-contract.ts';
import { quietPeriod, waitFor } from '../../test/support/wait.ts';
import { MemoryEventLog, partitionForKey } from './memory.ts';
import type { LogRecord } from './types.ts';

let topics = 0;

eventLogContract(
  'MemoryEventLog',
  async () => {
    const log = new MemoryEventLog({ defaultPartitions: 3 });
    return { log, topic: `topic-${++topics}`, partitions: 3, teardown: () => log.close() };
  },
  { waitTimeoutMs: 10_000, settleMs: 100, testTimeoutMs: 60_000 },
);

eventLogContract(
  'MemoryEventLog kept on disk',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'interchange-eventlog-'));
    const log = new MemoryEventLog({ defaultPartitions: 3, dir });
    const teardown = async () => {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    };
    return { log, topic: `topic-${++topics}`, partitions: 3, teardown };
  },
  { waitTimeoutMs: 10_000, settleMs: 100, testTimeoutMs: 60_000 },
);

describe('MemoryEventLog, beyond the contract', () => {
  test('keys pick the partitions kafkajs’s DefaultPartitioner picks (murmur2)', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const count of [1, 2, 3, 5, 7, 12]) {
      const partitionMetadata: PartitionMetadata[] = Array.from({ length: count }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));
      for (const key of [
        '',
        'a',
        'ab',
        'abc',
        'abcd',
        'customer-42',
        'ünïcødé-✓',
        ...Array.from({ length: 300 }, (_, i) => `key-${i * 7919}`),
      ]) {
        assert.equal(
          partitionForKey(key, count),
          kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } }),
          `key ${JSON.stringify(key)} over ${count} partitions`,
        );
      }
    }
  });

  test('a topic named in `partitions` gets that many; others get defaultPartitions', async () => {
    const log = new MemoryEventLog({ partitions: { wide: 8 }, defaultPartitions: 2 });
    try {
      assert.equal((await log.endOffsets('wide')).length, 8);
      assert.equal((await log.endOffsets('other')).length, 2);
    } finally {
      await log.close();
    }
  });

  test('invalid options fail in the constructor, naming each problem', () => {
    assert.throws(
      () => new MemoryEventLog({ defaultPartitions: 0, partitions: { orders: 1.5 } }),
      /defaultPartitions must be a positive integer, got 0; partitions\.orders must be a positive integer, got 1\.5/,
    );
  });

  test('the handler never runs inside publish or consume', async () => {
    const log = new MemoryEventLog();
    try {
      let calls = 0;
      await log.publish('sync', [{ key: 'a', value: '1' }]);
      const consuming = log.consume({
        topic: 'sync',
        groupId: 'g',
        from: { kind: 'beginning' },
        handle: async () => {
          calls++;
        },
      });
      assert.equal(calls, 0, 'not inside consume()');
      const handle = await consuming;
      await waitFor(() => calls === 1, 10_000, 'first record handled');
      const publishing = log.publish('sync', [{ key: 'a', value: '2' }]);
      assert.equal(calls, 1, 'not inside publish()');
      await publishing;
      await waitFor(() => calls === 2, 10_000, 'second record handled');
      await handle.stop();
    } finally {
      await log.close();
    }
  });

  test('members of one group share the partitions; a stopped member’s partitions move to the others', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    try {
      const got = { a: [] as LogRecord[], b: [] as LogRecord[] };
      const consumer = (name: 'a' | 'b') =>
        log.consume({ topic: 'shared', groupId: 'g', from: { kind: 'committed' }, handle: async (rs) => void got[name].push(...rs) });
      const a = await consumer('a');
      const b = await consumer('b');
      assert.deepEqual(
        a.progress().map((p) => p.partition),
        [0, 2],
      );
      assert.deepEqual(
        b.progress().map((p) => p.partition),
        [1, 3],
      );

      const records = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
      await log.publish('shared', records);
      await waitFor(() => got.a.length + got.b.length === 40, 10_000, 'all records handled once');
      assert.ok(got.a.every((r) => r.partition % 2 === 0) && got.b.every((r) => r.partition % 2 === 1));

      await b.stop();
      assert.deepEqual(
        a.progress().map((p) => p.partition),
        [0, 1, 2, 3],
      );
      await log.publish('shared', records);
      await waitFor(() => got.a.length + got.b.length === 80, 10_000, 'the second round handled by a alone');
      await quietPeriod(50); // anything handled twice would show up by now
      assert.equal(got.a.length + got.b.length, 80, 'nothing twice: b’s committed positions carried over');
      await a.stop();
    } finally {
      await log.close();
    }
  });

  test('close() stops every consumer and refuses further calls', async () => {
    const log = new MemoryEventLog();
    let calls = 0;
    await log.consume({ topic: 'c', groupId: 'g', from: { kind: 'beginning' }, handle: async () => void calls++ });
    await log.close();
    await assert.rejects(log.publish('c', [{ key: 'a', value: '1' }]), /closed/);
    await assert.rejects(log.consume({ topic: 'c', groupId: 'g', from: { kind: 'beginning' }, handle: async () => {} }), /closed/);
    await assert.rejects(log.endOffsets('c'), /closed/);
    assert.equal(calls, 0);
  });

  test('consume rejects bad start offsets', async () => {
    const log = new MemoryEventLog();
    try {
      await assert.rejects(
        log.consume({ topic: 'c', groupId: 'g', from: { kind: 'offsets', offsets: { 0: -1 } }, handle: async () => {} }),
        /from\.offsets\.0 must be an offset/,
      );
    } finally {
      await log.close();
    }
  });
});
