/**
 * The behaviour every `EventLog` implementation must have, as one test suite (node:test) that runs
 * unchanged against each of them: lib/eventlog/memory.test.ts (in-process) and
 * test/kafka/eventlog.test.ts (kafkajs on the Kafka mock cluster).
 *
 * Every test takes a fresh topic from `setup` and its own consumer group ids, so the tests run
 * concurrently (a Kafka group join takes seconds). Every wait is bounded: a broken implementation
 * fails within `waitTimeoutMs` instead of hanging.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumerHandle, EventLog, LogRecord, OutgoingRecord, RecordPosition, StartFrom } from '../../lib/eventlog/types.ts';
import { quietPeriod as sleep, waitFor, withTimeout } from './wait.ts';

/** A log with a topic of its own for one test. */
export interface EventLogFixture {
  log: EventLog;
  /** Exists (or is created on first use) with `partitions` partitions and no records. */
  topic: string;
  /** At least 3. */
  partitions: number;
  /** Called once when the test ends; closes whatever setup opened. */
  teardown(): Promise<void>;
}

export interface EventLogContractOptions {
  /** Bound on every wait for records, progress or a failure. @default 15000 */
  waitTimeoutMs?: number;
  /** How long a test watches for records that must not arrive. @default 300 */
  settleMs?: number;
  /** Timeout of each test. @default 60000 */
  testTimeoutMs?: number;
}

interface Published {
  record: OutgoingRecord;
  at: RecordPosition;
}

const where = (p: RecordPosition): string => `${p.partition}:${p.offset}`;

export function eventLogContract(name: string, setup: () => Promise<EventLogFixture>, options: EventLogContractOptions = {}): void {
  const { waitTimeoutMs = 15_000, settleMs = 300, testTimeoutMs = 60_000 } = options;
  let groups = 0;
  const newGroup = (label: string): string => `${label}-${++groups}-${Math.random().toString(36).slice(2, 8)}`;

  /** Runs `body` with a fresh fixture; stops the consumers it started and tears down. */
  const withLog = (body: (fx: EventLogFixture, consumers: Recorder[]) => Promise<void>) => async (): Promise<void> => {
    const fx = await withTimeout(setup(), waitTimeoutMs, 'setup');
    const consumers: Recorder[] = [];
    try {
      assert.ok(fx.partitions >= 3, `the contract needs a topic with at least 3 partitions, got ${fx.partitions}`);
      await body(fx, consumers);
    } finally {
      await Promise.allSettled(consumers.map((c) => withTimeout(c.handle.stop(), waitTimeoutMs, 'stop')));
      await withTimeout(fx.teardown(), waitTimeoutMs, 'teardown');
    }
  };

  interface Recorder {
    handle: ConsumerHandle;
    records: LogRecord[];
    batches: LogRecord[][];
    /** Why `failed` rejected, once it did. */
    failure: unknown;
    /** Waits until the records satisfy `predicate`; throws at once if the consumer failed. */
    until(predicate: (records: LogRecord[]) => boolean, message: string): Promise<void>;
  }

  async function record(
    fx: EventLogFixture,
    consumers: Recorder[],
    opts: { groupId: string; from: StartFrom; commit?: boolean; onBatch?: (records: LogRecord[]) => void },
  ): Promise<Recorder> {
    const records: LogRecord[] = [];
    const batches: LogRecord[][] = [];
    const handle = await withTimeout(
      fx.log.consume({
        topic: fx.topic,
        groupId: opts.groupId,
        from: opts.from,
        ...(opts.commit === undefined ? {} : { commit: opts.commit }),
        handle: async (batch) => {
          opts.onBatch?.(batch); // may throw: the batch then counts as not handled
          batches.push(batch);
          records.push(...batch);
        },
      }),
      waitTimeoutMs,
      `consume(${opts.groupId})`,
    );
    const recorder: Recorder = {
      handle,
      records,
      batches,
      failure: undefined,
      until: (predicate, message) =>
        waitFor(
          () => {
            if (recorder.failure !== undefined) throw new Error(`${message}: the consumer failed: ${String(recorder.failure)}`);
            return predicate(records);
          },
          waitTimeoutMs,
          message,
        ),
    };
    handle.failed.catch((err: unknown) => {
      recorder.failure = err ?? new Error('failed rejected without a reason');
    });
    consumers.push(recorder);
    return recorder;
  }

  async function publish(fx: EventLogFixture, records: OutgoingRecord[]): Promise<Published[]> {
    const at = await withTimeout(fx.log.publish(fx.topic, records), waitTimeoutMs, 'publish');
    assert.equal(at.length, records.length, 'publish resolves with one position per record');
    return records.map((record, i) => ({ record, at: at[i]! }));
  }

  /** Publishes records with fresh keys until every partition holds at least `perPartition`. */
  async function fillEveryPartition(fx: EventLogFixture, perPartition: number, label = 'fill'): Promise<Published[]> {
    const all: Published[] = [];
    const counts = new Array<number>(fx.partitions).fill(0);
    for (let round = 0; counts.some((c) => c < perPartition); round++) {
      assert.ok(round < 100, `keys did not reach every partition: ${JSON.stringify(counts)}`);
      const batch = Array.from({ length: 10 }, (_, i) => ({ key: `${label}-${round * 10 + i}`, value: `${label}-${round * 10 + i}` }));
      for (const p of await publish(fx, batch)) {
        counts[p.at.partition] = (counts[p.at.partition] ?? 0) + 1;
        all.push(p);
      }
    }
    return all;
  }

  /** Asserts that batches hold records of one partition in offset order, continuing each other. */
  function assertBatchesInOrder(batches: LogRecord[][]): void {
    const next = new Map<number, number>();
    for (const batch of batches) {
      assert.ok(batch.length > 0, 'handle is never called with an empty batch');
      const partition = batch[0]!.partition;
      for (const r of batch) {
        assert.equal(r.partition, partition, 'a batch holds records of one partition');
        const expected = next.get(partition);
        if (expected !== undefined) assert.equal(r.offset, expected, `partition ${partition}: offsets follow each other`);
        next.set(partition, r.offset + 1);
      }
    }
  }

  /** Asserts each published record arrived exactly once, at the position publish reported. */
  function assertReceivedExactly(received: LogRecord[], expected: Published[], topic: string): void {
    const byPosition = new Map(received.map((r) => [where(r), r]));
    assert.equal(byPosition.size, received.length, 'no record is delivered twice');
    assert.deepEqual([...byPosition.keys()].sort(), expected.map((p) => where(p.at)).sort(), 'the expected records, no others');
    for (const { record, at } of expected) {
      const r = byPosition.get(where(at))!;
      assert.equal(r.topic, topic);
      assert.equal(r.key, record.key);
      assert.equal(r.value, record.value);
      assert.deepEqual(r.headers, record.headers ?? {});
      assert.equal(typeof r.timestamp, 'number');
    }
  }

  describe(name, { concurrency: true }, () => {
    test(
      'publish resolves with where each record landed, in the order given: one partition per key, offsets counting up by 1',
      { timeout: testTimeoutMs },
      withLog(async (fx) => {
        const records = Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 8}`, value: `v${i}` }));
        const first = await publish(fx, records);
        const second = await publish(
          fx,
          records.slice(0, 8).map((r) => ({ ...r, value: `${r.value}-again` })),
        );

        const partitionOfKey = new Map<string, number>();
        const nextOffset = new Map<number, number>();
        for (const { record, at } of [...first, ...second]) {
          assert.ok(Number.isInteger(at.partition) && at.partition >= 0 && at.partition < fx.partitions, `partition ${at.partition}`);
          const known = partitionOfKey.get(record.key);
          if (known !== undefined) assert.equal(at.partition, known, `key ${record.key} stays on one partition`);
          partitionOfKey.set(record.key, at.partition);
          // A fresh topic: each partition's offsets start at 0 and count up in the order given.
          assert.equal(at.offset, nextOffset.get(at.partition) ?? 0, `offset of ${record.value} on partition ${at.partition}`);
          nextOffset.set(at.partition, at.offset + 1);
        }
        assert.ok(new Set(partitionOfKey.values()).size > 1, 'keys are spread over partitions');
        assert.deepEqual(await publish(fx, []), [], 'publishing nothing resolves with nothing');
      }),
    );

    test(
      'a consumer from the beginning receives every record once, with its key, value and headers, each key in publish order',
      { timeout: testTimeoutMs },
      withLog(async (fx, consumers) => {
        const published = await publish(
          fx,
          Array.from({ length: 60 }, (_, i) => ({
            key: `customer-${i % 10}`,
            value: JSON.stringify({ seq: Math.floor(i / 10) }),
            ...(i % 3 === 0 ? { headers: { 'event-type': 'created', n: String(i) } } : {}),
          })),
        );
        const c = await record(fx, consumers, { groupId: newGroup('all'), from: { kind: 'beginning' } });
        await c.until((rs) => rs.length >= published.length, `all ${published.length} records received`);
        await sleep(settleMs);

        assertReceivedExactly(c.records, published, fx.topic);
        assertBatchesInOrder(c.batches);
        for (let k = 0; k < 10; k++) {
          const seqs = c.records.filter((r) => r.key === `customer-${k}`).map((r) => (JSON.parse(r.value) as { seq: number }).seq);
          assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5], `customer-${k} in publish order`);
        }
      }),
    );

    test(
      'a consumer from given offsets starts there on those partitions and from the beginning on the others',
      { timeout: testTimeoutMs },
      withLog(async (fx, consumers) => {
        const published = await fillEveryPartition(fx, 4);
        const ends = await fx.log.endOffsets(fx.topic);
        const c = await record(fx, consumers, {
          groupId: newGroup('offsets'),
          from: { kind: 'offsets', offsets: { 0: 2, 1: ends[1]! } },
        });
        const expected = published.filter(({ at }) => (at.partition === 0 ? at.offset >= 2 : at.partition !== 1));
        await c.until((rs) => rs.length >= expected.length, `${expected.length} records received`);
        await sleep(settleMs);
        assertReceivedExactly(c.records, expected, fx.topic);
        assertBatchesInOrder(c.batches);

        // Partition 1 started at its end: it hands over what comes next.
        const keyOnOne = published.find(({ at }) => at.partition === 1)!.record.key;
        const [later] = await publish(fx, [{ key: keyOnOne, value: 'later' }]);
        await c.until((rs) => rs.some((r) => r.value === 'later'), 'the record published later received');
        assert.deepEqual(
          c.records.filter((r) => r.partition === 1).map(where),
          [where(later!.at)],
          'partition 1: only the record published after the start',
        );
      }),
    );

    test(
      'keeps per-key order across partitions for several hundred records of interleaved keys',
      { timeout: testTimeoutMs },
      withLog(async (fx, consumers) => {
        const keys = 20;
        const perKey = 30;
        const all = Array.from({ length: keys * perKey }, (_, i) => ({
          key: `order-${i % keys}`,
          value: `${i % keys}:${Math.floor(i / keys)}`,
        }));
        const published: Published[] = [];
        for (let i = 0; i < all.length; i += 100) published.push(...(await publish(fx, all.slice(i, i + 100))));
        assert.ok(new Set(published.map((p) => p.at.partition)).size >= 3, 'the records span at least 3 partitions');

        const c = await record(fx, consumers, { groupId: newGroup('order'), from: { kind: 'beginning' } });
        await c.until((rs) => rs.length >= all.length, `all ${all.length} records received`);
        await sleep(settleMs);
        assertReceivedExactly(c.records, published, fx.topic);
        assertBatchesInOrder(c.batches);
        for (let k = 0; k < keys; k++) {
          const mine = c.records.filter((r) => r.key === `order-${k}`);
          assert.deepEqual(
            mine.map((r) => Number(r.value.split(':')[1])),
            Array.from({ length: perKey }, (_, i) => i),
            `order-${k} arrives in publish order`,
          );
          assert.equal(new Set(mine.map((r) => r.partition)).size, 1, `order-${k} stays on one partition`);
        }
      }),
    );

    test(
      'a running consumer receives records published after it started, promptly',
      { timeout: testTimeoutMs },
      withLog(async (fx, consumers) => {
        const c = await record(fx, consumers, { groupId: newGroup('live'), from: { kind: 'beginning' } });
        await waitFor(() => c.handle.progress().length === fx.partitions, waitTimeoutMs, 'the consumer owns every partition');
        for (let round = 0; round < 3; round++) {
          const started = Date.now();
          const published = await publish(fx, [{ key: `live-${round}`, value: `live-${round}` }]);
          await c.until((rs) => rs.length === round + 1, `live record ${round} received`);
          const latency = Date.now() - started;
          assert.ok(latency < 2000, `record ${round} took ${latency} ms to arrive`);
          assert.equal(where(c.records[round]!), where(published[0]!.at));
        }
      }),
    );

    test(
      'a consumer restarted in its group resumes after the committed positions: only new records, none twice',
      { timeout: testTimeoutMs },
      withLog(async (fx, consumers) => {
        const groupId = newGroup('restart');
        const first = await publish(
          fx,
          Array.from({ length: 30 }, (_, i) => ({ key: `r${i % 7}`, value: `first-${i}` })),
        );
        const one = await record(fx, consumers, { groupId, from: { kind: 'committed' } });
        await one.until((rs) => rs.length >= first.length, 'first records received');
        await withTimeout(one.handle.stop(), waitTimeoutMs, 'stop');
        await sleep(settleMs);
        assertReceivedExactly(one.records, first, fx.topic);

        const second = await publish(
          fx,
          Array.from({ length: 12 }, (_, i) => ({ key: `r${i % 7}`, value: `second-${i}` })),
        );
        const two = await record(fx, consumers, { groupId, from: { kind: 'committed' } });
        await two.until((rs) => rs.length >= second.length, 'second records received');
        await sleep(settleMs);
        assertReceivedExactly(two.records, second, fx.topic);
        assert.equal(one.records.length, first.length, 'the stopped consumer got nothing more');
      }),
    );

    test(
      'from the beginning ignores committed positions',
      { timeout: testTimeoutMs },
      withLog(async (fx, consumers) => {
        const groupId = newGroup('rewind');
        const published = await publish(
          fx,
          Array.from({ length: 20 }, (_, i) => ({ key: `b${i % 5}`, value: `b-${i}` })),
        );
        const one = await record(fx, consumers, { groupId, from: { kind: 'committed' } });
        await one.until((rs) => rs.length >= published.length, 'records received');
        await withTimeout(one.handle.stop(), waitTimeoutMs, 'stop');

        const two = await record(fx, consumers, { groupId, from: { kind: 'beginning' } });
        await two.until((rs) => rs.length >= published.length, 'records received again from the beginning');
        await sleep(settleMs);
        assertReceivedExactly(two.records, published, fx.topic);
      }),
    );

    test(
      'with commit: false nothing is committed: a restart from committed positions sees every record again',
      { timeout: testTimeoutMs },
      withLog(async (fx, consumers) => {
        const groupId = newGroup('nocommit');
        const published = await publish(
          fx,
          Array.from({ length: 15 }, (_, i) => ({ key: `n${i % 5}`, value: `n-${i}` })),
        );
        const one = await record(fx, consumers, { groupId, from: { kind: 'committed' }, commit: false });
        await one.until((rs) => rs.length >= published.length, 'records received');
        await withTimeout(one.handle.stop(), waitTimeoutMs, 'stop');

        const two = await record(fx, consumers, { groupId, from: { kind: 'committed' } });
        await two.until((rs) => rs.length >= published.length, 'records received again');
        await sleep(settleMs);
        assertReceivedExactly(two.records, published, fx.topic);
      }),
    );

    test(
      'a handler that throws rejects failed and stops the consumer; the group’s next consumer gets the record again',
      { timeout: testTimeoutMs },
      withLog(async (fx, consumers) => {
        const groupId = newGroup('poison');
        const published = await publish(
          fx,
          Array.from({ length: 20 }, (_, i) => ({ key: `p${i % 4}`, value: `p-${i}` })),
        );
        const poison = published[9]!;
        const boom = new Error('handler failed on purpose');
        let calls = 0;
        const one = await record(fx, consumers, {
          groupId,
          from: { kind: 'committed' },
          onBatch: (batch) => {
            calls++;
            if (batch.some((r) => r.value === poison.record.value)) throw boom;
          },
        });
        await assert.rejects(withTimeout(one.handle.failed, waitTimeoutMs, 'failed'), (err: unknown) => err === boom);
        const callsAtFailure = calls;
        await sleep(settleMs);
        assert.equal(calls, callsAtFailure, 'nothing is handed over after the failed batch');
        assert.ok(!one.records.some((r) => r.value === poison.record.value), 'the poison batch did not count as handled');
        await withTimeout(one.handle.stop(), waitTimeoutMs, 'stop after a failure');

        const two = await record(fx, consumers, { groupId, from: { kind: 'committed' } });
        await two.until((rs) => rs.some((r) => r.value === poison.record.value), 'the failed record delivered again');
        // At least once: every record was handled by one of the two.
        await two.until(() => {
          const seen = new Set([...one.records, ...two.records].map(where));
          return published.every((p) => seen.has(where(p.at)));
        }, 'every record handled by one of the consumers');
        assertBatchesInOrder(two.batches);
      }),
    );

    test(
      'endOffsets is one past the newest offset of each partition',
      { timeout: testTimeoutMs },
      withLog(async (fx) => {
        assert.deepEqual(await fx.log.endOffsets(fx.topic), new Array<number>(fx.partitions).fill(0), 'a new topic is empty');
        const published = await fillEveryPartition(fx, 2, 'end');
        const expected = new Array<number>(fx.partitions).fill(0);
        for (const { at } of published) expected[at.partition] = Math.max(expected[at.partition]!, at.offset + 1);
        assert.deepEqual(await fx.log.endOffsets(fx.topic), expected);
      }),
    );

    test(
      'progress() reaches the end offsets on every partition',
      { timeout: testTimeoutMs },
      withLog(async (fx, consumers) => {
        await fillEveryPartition(fx, 5, 'progress');
        const ends = await fx.log.endOffsets(fx.topic);
        const c = await record(fx, consumers, { groupId: newGroup('progress'), from: { kind: 'beginning' } });
        const reached = (): boolean => {
          const progress = c.handle.progress();
          return (
            progress.length === fx.partitions &&
            progress.every((p) => p.position === ends[p.partition] && p.highWatermark === ends[p.partition])
          );
        };
        await c.until(reached, `progress reaches ${JSON.stringify(ends)}`);
        const progress = c.handle.progress();
        assert.deepEqual(
          progress.map((p) => p.partition),
          Array.from({ length: fx.partitions }, (_, i) => i),
          'one entry per partition, in partition order',
        );
        assert.equal(
          c.records.length,
          ends.reduce((a, b) => a + b, 0),
          'every record handed over',
        );
      }),
    );
  });
}
