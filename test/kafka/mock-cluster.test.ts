/**
 * Proves the Kafka mock broker (test/kafka/mock-broker.c, driven by
 * mock-cluster.ts) is a usable Kafka for integration tests with kafkajs:
 * keyed produce/consume in per-key order through a consumer group, committed
 * offsets surviving a consumer restart, recovery from a broker going down,
 * fault injection, and no process left behind.
 *
 * Run: node --test test/kafka/mock-cluster.test.ts
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Consumer, Producer, RetryOptions } from 'kafkajs';
import { buildMockBroker, startMockCluster } from './mock-cluster.ts';
import type { MockCluster } from './mock-cluster.ts';
import { quietPeriod, waitFor, withTimeout } from '../support/wait.ts';

// Settings kafkajs needs against the mock (see DESIGN.md): an empty fetch
// otherwise waits the default 5 s; rebalances take about sessionTimeout - 1 s.
const CONSUMER_SETTINGS = { sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 } as const;
// kafkajs defaults to 5 retries with long back-off; fail-over needs it explicit.
const RETRY: RetryOptions = { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 };

/** True while the process exists and is not a zombie awaiting its reaper. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

interface Received {
  key: string;
  value: string;
  partition: number;
  offset: number;
}

describe('Kafka mock cluster (librdkafka mock + kafkajs)', () => {
  let cluster: MockCluster;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const clients = new Set<{ disconnect(): Promise<void> }>();

  before(async () => {
    await withTimeout(buildMockBroker(), 120_000, 'build mock-broker');
    cluster = await startMockCluster({
      brokers: 3,
      topics: [
        { name: 'orders', partitions: 3 },
        { name: 'commits', partitions: 3 },
        { name: 'failover', partitions: 3 },
        { name: 'faults', partitions: 3 },
      ],
    });
    kafka = new Kafka({
      clientId: 'mock-cluster-test',
      brokers: cluster.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 5000,
      retry: RETRY,
    });
    admin = kafka.admin();
    clients.add(admin);
    await withTimeout(admin.connect(), 60_000, 'admin connect');
    producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      retry: RETRY,
    });
    clients.add(producer);
    await withTimeout(producer.connect(), 60_000, 'producer connect');
  });

  after(async () => {
    await Promise.allSettled([...clients].map((c) => withTimeout(c.disconnect(), 60_000, 'disconnect')));
    await cluster?.stop();
  });

  async function startConsumer(
    groupId: string,
    topic: string,
  ): Promise<{ consumer: Consumer; received: Received[]; stop: () => Promise<void> }> {
    const consumer = kafka.consumer({ groupId, ...CONSUMER_SETTINGS, retry: RETRY });
    clients.add(consumer);
    const received: Received[] = [];
    await withTimeout(consumer.connect(), 60_000, `consumer ${groupId} connect`);
    await withTimeout(consumer.subscribe({ topics: [topic], fromBeginning: true }), 60_000, `consumer ${groupId} subscribe`);
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          partition,
          offset: Number(message.offset),
        });
      },
    });
    const stop = async (): Promise<void> => {
      await withTimeout(consumer.disconnect(), 60_000, `consumer ${groupId} disconnect`);
      clients.delete(consumer);
    };
    return { consumer, received, stop };
  }

  test('3 brokers on 127.0.0.1, a 3-partition topic, a usable controller', { timeout: 600_000 }, async () => {
    assert.equal(cluster.brokers.length, 3);
    assert.equal(cluster.bootstrap, cluster.brokers.join(','));
    for (const b of cluster.brokers) assert.match(b, /^127\.0\.0\.1:\d+$/);

    const described = await admin.describeCluster();
    assert.deepEqual(
      described.brokers.map((b) => `${b.nodeId}=${b.host}:${b.port}`).sort(),
      cluster.brokers.map((b, i) => `${i + 1}=${b}`),
      'brokers[i] is broker id i + 1',
    );
    // The launcher's work-around: the mock itself reports controller 0.
    assert.equal(described.controller, 1);

    const { topics } = await admin.fetchTopicMetadata({ topics: ['orders'] });
    assert.equal(topics[0]?.partitions.length, 3);
    for (const p of topics[0]?.partitions ?? []) assert.ok([1, 2, 3].includes(p.leader), `leader of ${p.partitionId}`);

    // The idempotent producer needs the controller to get a producer id.
    const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: RETRY });
    clients.add(idempotent);
    await withTimeout(idempotent.connect(), 60_000, 'idempotent producer connect');
    const [meta] = await idempotent.send({ topic: 'faults', acks: -1, messages: [{ partition: 2, value: 'idempotent' }] });
    assert.equal(meta?.errorCode, 0);
    await idempotent.disconnect();
    clients.delete(idempotent);
  });

  test('ping answers OK; a bad command answers ERR and the launcher carries on', { timeout: 600_000 }, async () => {
    await cluster.ping();
    await assert.rejects(cluster.command('frobnicate 1 2'), /frobnicate 1 2" failed: unknown command 'frobnicate'/);
    await assert.rejects(cluster.command('broker-down x'), /usage: broker-down BROKERID/);
    await assert.rejects(cluster.brokerDown(42), /broker-down 42" failed:/);
    await assert.rejects(cluster.createTopic('orders', 3), /already exists/i);
    await assert.rejects(cluster.setLeader('no spaces allowed', 0, 1), TypeError);
    await assert.rejects(cluster.setRtt(1, 1.5), TypeError);
    // Serialized: concurrent calls each get their own answer.
    const results = await Promise.allSettled([cluster.ping(), cluster.command('nope'), cluster.ping()]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    await cluster.ping();
  });

  test('300 keyed messages come back in per-key order through a consumer group', { timeout: 600_000 }, async () => {
    const keys = 10;
    const perKey = 30;
    const messages = Array.from({ length: keys * perKey }, (_, i) => ({
      key: `customer-${i % keys}`,
      value: JSON.stringify({ key: `customer-${i % keys}`, seq: Math.floor(i / keys) }),
    }));
    for (let i = 0; i < messages.length; i += 50) {
      await withTimeout(producer.send({ topic: 'orders', acks: -1, messages: messages.slice(i, i + 50) }), 60_000, 'produce');
    }

    const { received, stop } = await startConsumer('orders-reader', 'orders');
    await waitFor(() => received.length >= messages.length, 60_000, 'all 300 messages consumed');
    await stop();

    assert.equal(received.length, messages.length);
    const byKey = new Map<string, Received[]>();
    for (const r of received) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    assert.equal(byKey.size, keys);
    for (const [key, list] of byKey) {
      assert.deepEqual(
        list.map((r) => (JSON.parse(r.value) as { seq: number }).seq),
        Array.from({ length: perKey }, (_, i) => i),
        `order of ${key}`,
      );
      assert.equal(new Set(list.map((r) => r.partition)).size, 1, `${key} stays on one partition`);
    }
    assert.ok(new Set(received.map((r) => r.partition)).size > 1, 'keys are spread over partitions');
  });

  test('committed offsets survive a consumer restart', { timeout: 600_000 }, async () => {
    const group = 'commits-reader';
    const batch = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i % 4}`, value: `${prefix}-${i}` }));
    const first = batch('first', 20);
    await producer.send({ topic: 'commits', acks: -1, messages: first });

    const one = await startConsumer(group, 'commits');
    await waitFor(() => one.received.length >= first.length, 60_000, 'first batch consumed');
    // Committed (OffsetCommit reached the group coordinator), not just consumed.
    await waitFor(
      async () => {
        const offsets = await admin.fetchOffsets({ groupId: group, topics: ['commits'] });
        return offsets[0]?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) === first.length;
      },
      60_000,
      'offsets committed',
      100,
    );
    await one.stop();

    const second = batch('second', 10);
    await producer.send({ topic: 'commits', acks: -1, messages: second });
    const two = await startConsumer(group, 'commits'); // fromBeginning: committed offsets must win
    await waitFor(() => two.received.length >= second.length, 60_000, 'second batch consumed');
    await quietPeriod(500); // anything re-delivered from the first batch would show up by now
    await two.stop();

    assert.deepEqual(one.received.map((r) => r.value).sort(), first.map((m) => m.value).sort());
    assert.deepEqual(two.received.map((r) => r.value).sort(), second.map((m) => m.value).sort());
  });

  test('broker down and up: every acknowledged message is consumed', { timeout: 600_000 }, async (t) => {
    // One partition per broker, so broker 2 going down stalls partition 1 only.
    for (const p of [0, 1, 2]) await cluster.setLeader('failover', p, p + 1);
    await producer.send({ topic: 'failover', acks: -1, messages: [0, 1, 2].map((p) => ({ partition: p, value: `before-${p}` })) });

    await cluster.brokerDown(2);
    let down = true;
    // Broker 2 comes back however this test ends.
    t.after(() => (down ? cluster.brokerUp(2) : undefined));

    // Keep producing while broker 2 is down: one send per message, every 20 ms (pacing only).
    const acked: { value: string; partition: number; whileDown: boolean }[] = [];
    const failed: string[] = [];
    const sends: Promise<void>[] = [];
    const sending = (async () => {
      for (let i = 0; i < 90; i++) {
        const partition = i % 3;
        const value = `during-${i}`;
        sends.push(
          producer.send({ topic: 'failover', acks: -1, messages: [{ partition, value }] }).then(
            () => void acked.push({ value, partition, whileDown: down }),
            (err: unknown) => void failed.push(`${value}: ${String(err)}`),
          ),
        );
        await quietPeriod(20);
      }
    })();
    // The outage lasts at least 1.5 s and until a partition on a live broker has acknowledged a
    // message sent during it, however slowly the machine runs. (kafkajs retries partition 1's sends
    // for several seconds; a live partition's first acknowledgement takes milliseconds.)
    await Promise.all([
      quietPeriod(1500),
      waitFor(() => acked.some((a) => a.partition !== 1), 60_000, 'no partition on a live broker acknowledged a message during the outage'),
    ]);
    // Partition 1 (broker 2) acknowledged nothing while broker 2 was down.
    const acceptedWhileDown = acked.filter((a) => a.partition === 1).map((a) => a.value);
    down = false;
    await cluster.brokerUp(2);
    await withTimeout(sending, 60_000, 'sending during the outage');
    await withTimeout(Promise.all(sends), 120_000, 'all sends settled');

    assert.deepEqual(failed, [], 'with retries covering the outage no send fails');
    const early = acked.filter((a) => a.partition !== 1 && a.whileDown);
    assert.ok(early.length > 0, 'partitions on live brokers kept accepting messages during the outage');
    assert.deepEqual(acceptedWhileDown, [], 'partition 1 (broker 2) accepted nothing while broker 2 was down');

    const { received, stop } = await startConsumer('failover-reader', 'failover');
    const expected = new Set(['before-0', 'before-1', 'before-2', ...acked.map((a) => a.value)]);
    await waitFor(
      () => {
        const seen = new Set(received.map((r) => r.value));
        return [...expected].every((v) => seen.has(v));
      },
      120_000,
      'every acknowledged message consumed',
      100,
    );
    await stop();
  });

  test('fault injection: request errors, leader move, round-trip time', { timeout: 600_000 }, async () => {
    const offsetsBefore = await admin.fetchTopicOffsets('faults');
    const total = (offs: { high: string }[]) => offs.reduce((sum, o) => sum + Number(o.high), 0);
    let acked = 0;

    // Produce (API key 0) fails twice with NOT_LEADER_OR_FOLLOWER (6); kafkajs retries.
    await cluster.pushRequestErrors(0, 6, 6);
    await producer.send({ topic: 'faults', acks: -1, messages: [{ partition: 0, value: 'after-errors' }] });
    acked++;

    // Leader move: the producer's cached leader is stale and must follow.
    await cluster.setLeader('faults', 0, 3);
    await producer.send({ topic: 'faults', acks: -1, messages: [{ partition: 0, value: 'after-move' }] });
    acked++;
    const { topics } = await admin.fetchTopicMetadata({ topics: ['faults'] });
    assert.equal(topics[0]?.partitions.find((p) => p.partitionId === 0)?.leader, 3);

    // Round-trip time on broker 3 delays its answers.
    await cluster.setRtt(3, 300);
    const t0 = Date.now();
    await producer.send({ topic: 'faults', acks: -1, messages: [{ partition: 0, value: 'slow' }] });
    acked++;
    assert.ok(Date.now() - t0 >= 250, `send took ${Date.now() - t0} ms with rtt 300`);
    await cluster.setRtt(3, 0);

    const offsetsAfter = await admin.fetchTopicOffsets('faults');
    assert.ok(total(offsetsAfter) - total(offsetsBefore) >= acked, 'every acknowledged message is in the log');
  });

  test('the controller moves off a downed broker (launcher work-around)', { timeout: 600_000 }, async () => {
    // The mock never moves leaders by itself: keep the partition we write to
    // off broker 1, or the send below would wait for broker 1 to return.
    await cluster.setLeader('faults', 1, 2);
    await cluster.brokerDown(1);
    try {
      // A metadata refresh that starts on a broker kafkajs still believes
      // connected stays on that broker for all its retries (kafkajs picks the
      // broker outside its retry loop): that attempt fails after the retry
      // budget (~8 s) and the next one asks a live broker. The deadline
      // leaves room for several such attempts.
      await waitFor(
        async () => {
          try {
            return (await admin.describeCluster()).controller === 2;
          } catch {
            return false;
          }
        },
        120_000,
        'controller moved to broker 2',
        100,
      );
      // An idempotent producer can still get its producer id from the controller.
      const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: RETRY });
      clients.add(idempotent);
      await withTimeout(idempotent.connect(), 60_000, 'idempotent producer connect');
      await idempotent.send({ topic: 'faults', acks: -1, messages: [{ partition: 1, value: 'controller-2' }] });
      await idempotent.disconnect();
      clients.delete(idempotent);
    } finally {
      await cluster.brokerUp(1);
    }
    // Like Kafka, the controller does not move back when broker 1 returns.
    assert.equal((await admin.describeCluster()).controller, 2);
  });

  test('start-up failure rejects with the launcher stderr', { timeout: 600_000 }, async () => {
    await assert.rejects(
      startMockCluster({ brokers: 2, topics: [{ name: 'bad name', partitions: 1 }] }),
      /exited \(code 2\).*bad topic name/s,
    );
    await assert.rejects(startMockCluster({ brokers: 0, topics: [] }), /--brokers needs a number/);
  });

  test('stop() leaves no process behind', { timeout: 600_000 }, async () => {
    const extra = await startMockCluster({ brokers: 1, topics: [{ name: 'tmp', partitions: 1 }] });
    try {
      assert.ok(processAlive(extra.pid));
      await extra.ping();
    } finally {
      await extra.stop();
    }
    assert.equal(processAlive(extra.pid), false);
    await extra.stop(); // idempotent
    await assert.rejects(extra.ping(), /stopped/);
  });

  test('a crashed parent leaves no broker behind', { timeout: 600_000 }, async () => {
    const helper = new URL('./mock-cluster.ts', import.meta.url).href;
    const script = `
      const { startMockCluster } = await import(${JSON.stringify(helper)});
      const c = await startMockCluster({ brokers: 1, topics: [{ name: 'crash', partitions: 1 }] });
      process.stdout.write(c.pid + '\\n');
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: parent.stdout });
      const first = await withTimeout(
        new Promise<string>((resolve, reject) => {
          lines.once('line', resolve);
          parent.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
        }),
        60_000,
        'child reports broker pid',
      );
      const brokerPid = Number(first);
      assert.ok(Number.isInteger(brokerPid) && processAlive(brokerPid));
      parent.kill('SIGKILL');
      await waitFor(() => !processAlive(brokerPid), 60_000, 'orphaned mock-broker exits');
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
