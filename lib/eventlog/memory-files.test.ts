/**
 * The embedded event log kept on disk: reopened on its directory, it has every record, every
 * consumer group's committed positions and its topics' partition counts; a record cut short by a
 * crash is cut off, a damaged record before the last one refuses to load.
 *
 * Run: node test/run.ts lib/eventlog/memory-files.test.ts
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../test/support/wait.ts';
import { MemoryEventLog, partitionForKey } from './memory.ts';
import type { LogRecord } from './types.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
const newDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'interchange-eventlog-'));
  dirs.push(dir);
  return dir;
};

/** Every record of a topic, read from the beginning by a throw-away group. */
async function readAll(log: MemoryEventLog, topic: string, expected: number): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const handle = await log.consume({
    topic,
    groupId: `read-${Math.random()}`,
    from: { kind: 'beginning' },
    commit: false,
    handle: async (rs) => void records.push(...rs),
  });
  try {
    await waitFor(() => records.length >= expected, 10_000, `${expected} records of ${topic}`);
  } finally {
    await handle.stop();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

const comparable = (r: LogRecord) => ({
  partition: r.partition,
  offset: r.offset,
  key: r.key,
  value: r.value,
  headers: r.headers,
  timestamp: r.timestamp,
});

describe('MemoryEventLog kept on disk, reopened', { timeout: 60_000 }, () => {
  test('has every record, at the same offsets, and appends after them', { timeout: 30_000 }, async () => {
    const dir = await newDir();
    const first = new MemoryEventLog({ dir, partitions: { orders: 4 } });
    const records = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i} ✓`, headers: { n: String(i) } }));
    await first.publish('orders', records);
    const before = await readAll(first, 'orders', 50);
    await first.close();

    const second = new MemoryEventLog({ dir, partitions: { orders: 4 } });
    try {
      assert.deepEqual(await second.endOffsets('orders'), await endOffsetsOf(before, 4));
      assert.deepEqual((await readAll(second, 'orders', 50)).map(comparable), before.map(comparable));
      const [next] = await second.publish('orders', [{ key: 'k0', value: 'after' }]);
      const sameKey = before.filter((r) => r.key === 'k0');
      assert.equal(next!.offset, sameKey[sameKey.length - 1]!.offset + 1, 'offsets continue where the files end');
    } finally {
      await second.close();
    }
  });

  test('a topic keeps the partition count it was created with', { timeout: 30_000 }, async () => {
    const dir = await newDir();
    const first = new MemoryEventLog({ dir, partitions: { orders: 5 } });
    await first.publish('orders', [{ key: 'a', value: '1' }]);
    await first.close();
    const second = new MemoryEventLog({ dir, partitions: { orders: 2 } });
    try {
      assert.equal((await second.endOffsets('orders')).length, 5);
    } finally {
      await second.close();
    }
  });

  test('consumer groups resume from their committed positions', { timeout: 30_000 }, async () => {
    const dir = await newDir();
    const first = new MemoryEventLog({ dir, defaultPartitions: 3 });
    await first.publish(
      't',
      Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `old-${i}` })),
    );
    const seen: LogRecord[] = [];
    const handle = await first.consume({
      topic: 't',
      groupId: 'g',
      from: { kind: 'committed' },
      handle: async (rs) => void seen.push(...rs),
    });
    await waitFor(() => seen.length === 30, 10_000, 'the first 30 records');
    await handle.stop();
    await first.close();

    const second = new MemoryEventLog({ dir, defaultPartitions: 3 });
    try {
      await second.publish('t', [{ key: 'x', value: 'new' }]);
      const later: LogRecord[] = [];
      const resumed = await second.consume({
        topic: 't',
        groupId: 'g',
        from: { kind: 'committed' },
        handle: async (rs) => void later.push(...rs),
      });
      await waitFor(() => later.length >= 1, 10_000, 'the new record');
      await resumed.stop();
      assert.deepEqual(
        later.map((r) => r.value),
        ['new'],
        'only what came after the committed positions',
      );
    } finally {
      await second.close();
    }
  });

  test('only groups that committed something are kept: groups that never commit leave no trace', { timeout: 30_000 }, async () => {
    const dir = await newDir();
    const first = new MemoryEventLog({ dir, defaultPartitions: 2 });
    await first.publish('t', [{ key: 'a', value: '1' }]);
    const handled: string[] = [];
    const consumers = await Promise.all(
      [
        { groupId: 'projection-0f3c', commit: false },
        { groupId: 'projection-0f3c-dlq-scan', commit: false },
        { groupId: 'billing', commit: true },
      ].map(({ groupId, commit }) =>
        first.consume({ topic: 't', groupId, from: { kind: 'committed' }, commit, handle: async () => void handled.push(groupId) }),
      ),
    );
    await waitFor(() => handled.length === 3, 10_000, 'each group handled the record');
    await Promise.all(consumers.map((c) => c.stop()));
    await first.close();

    const stored = JSON.parse(await readFile(join(dir, 'groups.json'), 'utf8')) as { groupId: string }[];
    assert.deepEqual(
      stored.map((g) => g.groupId),
      ['billing'],
    );
  });

  test('groups without committed positions that an older version stored are dropped at the next write', { timeout: 30_000 }, async () => {
    const dir = await newDir();
    await writeFile(
      join(dir, 'groups.json'),
      JSON.stringify([
        { groupId: 'projection-1a2b', topic: 't', committed: {} },
        { groupId: 'billing', topic: 't', committed: { 0: 1 } },
      ]),
    );
    await new MemoryEventLog({ dir }).close();
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'groups.json'), 'utf8')), [
      { groupId: 'billing', topic: 't', committed: { 0: 1 } },
    ]);
  });

  test('a record cut short by a crash is cut off; the records before it stay', { timeout: 30_000 }, async () => {
    const dir = await newDir();
    const first = new MemoryEventLog({ dir, partitions: { t: 1 } });
    await first.publish('t', [
      { key: 'a', value: '1' },
      { key: 'a', value: '2' },
    ]);
    await first.close();
    const file = join(dir, 'topics', 't', '0.ndjson');
    await appendFile(file, '["a","3",{},17');
    const warnings: string[] = [];
    const second = new MemoryEventLog({
      dir,
      partitions: { t: 1 },
      logger: { warn: (_: unknown, message?: string) => void warnings.push(String(message)) } as never,
    });
    try {
      assert.deepEqual(await second.endOffsets('t'), [2]);
      assert.match(warnings.join('\n'), /incomplete record/);
      await second.publish('t', [{ key: 'a', value: '3' }]);
      assert.deepEqual(
        (await readAll(second, 't', 3)).map((r) => r.value),
        ['1', '2', '3'],
      );
    } finally {
      await second.close();
    }
    assert.equal((await readFile(file, 'utf8')).split('\n').filter(Boolean).length, 3, 'the file holds whole records only');
  });

  test(
    'a publish over several partitions whose write fails on one keeps none of its records, on disk or in memory',
    // /dev/full: every write to it fails with ENOSPC, as a full disk does.
    { timeout: 30_000, skip: !existsSync('/dev/full') && 'needs /dev/full' },
    async () => {
      const dir = await newDir();
      const topicDir = join(dir, 'topics', 't');
      await mkdir(topicDir, { recursive: true });
      await symlink('/dev/full', join(topicDir, '1.ndjson'));
      const keyOn = (partition: number) => Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, 2) === partition)!;
      const first = new MemoryEventLog({ dir, partitions: { t: 2 } });
      await assert.rejects(
        first.publish('t', [
          { key: keyOn(0), value: 'zero' },
          { key: keyOn(1), value: 'one' },
        ]),
        /ENOSPC/,
      );
      assert.deepEqual(await first.endOffsets('t'), [0, 0], 'memory unchanged');
      await first.close().catch(() => undefined); // fsync of /dev/full fails (EINVAL); every file is closed all the same
      assert.equal(await readFile(join(topicDir, '0.ndjson'), 'utf8'), '', 'the partition written before the failure is cut back');

      await rm(join(topicDir, '1.ndjson'));
      const second = new MemoryEventLog({ dir, partitions: { t: 2 } });
      try {
        assert.deepEqual(await second.endOffsets('t'), [0, 0]);
        const positions = await second.publish('t', [{ key: keyOn(0), value: 'zero' }]);
        assert.deepEqual(positions, [{ partition: 0, offset: 0 }], 'offsets as memory gave them before the restart');
      } finally {
        await second.close();
      }
    },
  );

  test('a damaged record before the last refuses to load, naming the file and line', { timeout: 30_000 }, async () => {
    const dir = await newDir();
    const first = new MemoryEventLog({ dir, partitions: { t: 1 } });
    await first.publish('t', [{ key: 'a', value: '1' }]);
    await first.close();
    const file = join(dir, 'topics', 't', '0.ndjson');
    await writeFile(file, `garbage\n${await readFile(file, 'utf8')}`);
    assert.throws(() => new MemoryEventLog({ dir, partitions: { t: 1 } }), /0\.ndjson: line 1 is damaged/);
  });
});

async function endOffsetsOf(records: LogRecord[], partitions: number): Promise<number[]> {
  return Array.from({ length: partitions }, (_, p) => records.filter((r) => r.partition === p).length);
}
