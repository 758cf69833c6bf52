/** The usage record: counts, last seen, bounded by recency and by each client's share, written whole and read back. */
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createLogger } from '../../../lib/logger.ts';
import { temporaryDataDir } from '../../../test/support/data-dir.ts';
import type { OperationUsage } from './extract.ts';
import { UsageRecord, usageFileSchema } from './record.ts';

const log = createLogger('test', 'silent');

const operation = (name: string): OperationUsage => ({
  hash: name.repeat(8).slice(0, 8),
  name,
  type: 'query',
  fields: [`Query.${name}`],
  arguments: [],
});

function setUp(file: string, maxOperations = 10, clientShare = 1) {
  const clock = { now: Date.parse('2026-12-01T00:00:00.000Z') };
  const record = new UsageRecord({ file, maxOperations, clientShare, flushMs: 60_000, log, now: () => clock.now });
  return { record, clock, tick: () => (clock.now += 1_000) };
}

/** The operations kept (most recent first) after each `[name, client]` ran once, in order, a second apart. */
async function keptAfter(t: TestContext, maxOperations: number, clientShare: number, runs: (readonly [string, string])[]) {
  const { record, tick } = setUp(join(await temporaryDataDir(t), 'usage.json'), maxOperations, clientShare);
  for (const [name, client] of runs) {
    record.record(operation(name), client);
    tick();
  }
  return record.snapshot().operations.map((o) => o.name);
}

describe('usage record', { timeout: 10_000 }, () => {
  test('counts each operation and when it was first and last seen, most recent first', async (t) => {
    const { record, tick } = setUp(join(await temporaryDataDir(t), 'usage.json'));
    record.record(operation('a'), 'client');
    tick();
    record.record(operation('b'), 'client');
    tick();
    record.record(operation('a'), 'client');
    const [a, b] = record.snapshot().operations;
    assert.deepEqual([a?.name, a?.count, a?.firstSeen, a?.lastSeen], ['a', 2, '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:02.000Z']);
    assert.deepEqual([b?.name, b?.count, b?.lastSeen], ['b', 1, '2026-12-01T00:00:01.000Z']);
  });

  test('keeps at most its maximum, dropping the operation seen least recently', async (t) => {
    const { record, tick } = setUp(join(await temporaryDataDir(t), 'usage.json'), 2);
    for (const name of ['a', 'b', 'a', 'c']) {
      record.record(operation(name), 'client');
      tick();
    }
    assert.deepEqual(
      record.snapshot().operations.map((o) => o.name),
      ['c', 'a'],
    );
  });

  test('writes the whole record to its file and reads it back in a new run, recency kept', async (t) => {
    const dir = await temporaryDataDir(t);
    const file = join(dir, 'usage.json');
    const first = setUp(file, 2);
    await first.record.flush();
    await assert.rejects(readFile(file), { code: 'ENOENT' }, 'an empty record that never changed is not written');
    for (const name of ['a', 'b', 'a']) {
      first.record.record(operation(name), 'client');
      first.tick();
    }
    await first.record.stop();
    const written = usageFileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    assert.deepEqual(written, first.record.snapshot());
    assert.deepEqual(await readdir(dir), ['usage.json'], 'no temporary file is left');

    const second = setUp(file, 2);
    await second.record.load();
    assert.deepEqual(second.record.snapshot(), written);
    second.record.record(operation('c'), 'client');
    assert.deepEqual(
      second.record.snapshot().operations.map((o) => [o.name, o.count]),
      [
        ['c', 1],
        ['a', 2],
      ],
    );
  });

  test('starts empty on a file that is not a usage record, and replaces it on the next write', async (t) => {
    const file = join(await temporaryDataDir(t), 'usage.json');
    await writeFile(file, '{"version": 1, "operations": [{"hash": 7}]');
    const { record } = setUp(file);
    await record.load();
    assert.deepEqual(record.snapshot().operations, []);
    record.record(operation('a'), 'client');
    await record.stop();
    assert.equal(usageFileSchema.parse(JSON.parse(await readFile(file, 'utf8'))).operations.length, 1);
  });

  test('a flood of distinct operations from anonymous callers cannot push out the operations others run', async (t) => {
    const { record, tick } = setUp(join(await temporaryDataDir(t), 'usage.json'), 10, 0.2);
    for (const [name, client] of [
      ['a', 'token:alice'],
      ['b', 'token:bob'],
      ['c', 'anonymous'],
      ['a', 'token:bob'],
    ] as const) {
      record.record(operation(name), client);
      tick();
    }
    for (let i = 0; i < 100; i++) {
      record.record(operation(`flood${i}`), 'anonymous');
      tick();
    }
    const kept = record.snapshot().operations.map((o) => o.name);
    assert.deepEqual(kept, ['flood99', 'flood98', 'a', 'b'], 'the flood keeps its share (2 of 10), every other operation stays');
  });

  test('an operation another client runs too no longer counts against its first client’s share', async (t) => {
    const kept = await keptAfter(t, 10, 0.2, [
      ['a', 'anonymous'],
      ['a', 'token:alice'],
      ['b', 'anonymous'],
      ['c', 'anonymous'],
      ['d', 'anonymous'],
    ]);
    assert.deepEqual(kept, ['d', 'c', 'a']);
  });

  test('a client under its share takes the place of the operation seen least recently, as without shares', async (t) => {
    const kept = await keptAfter(t, 4, 0.5, [
      ['a', 'token:alice'],
      ['b', 'token:bob'],
      ['c', 'token:carol'],
      ['d', 'token:dave'],
      ['e', 'anonymous'],
    ]);
    assert.deepEqual(kept, ['e', 'd', 'c', 'b']);
  });
});
