import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { MemoryEventLog } from '../../lib/eventlog/memory.ts';
import type { EventLog } from '../../lib/eventlog/types.ts';
import { createLogger } from '../../lib/logger.ts';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC, encodeOrderEvent, orderEvent } from '../../services/events/orders.ts';
import { EventJournal, type JournalEntry } from './journal.ts';
import { Projector } from './projector.ts';
import { waitFor } from '../../test/support/wait.ts';

describe('the projector and the journal of applied events', () => {
  test('records applied events only, each before the mutation waiting for it is released', async () => {
    const log = new MemoryEventLog({ partitions: { [ORDERS_TOPIC]: 2 } });
    const journal = new EventJournal({ maxEvents: 100 });
    const projector = new Projector({
      log,
      topic: ORDERS_TOPIC,
      deadLetterTopic: ORDERS_DEAD_LETTER_TOPIC,
      groupId: 'test',
      logger: createLogger('test', 'silent'),
      registry: new Registry(),
      sink: journal,
    });
    const heard: JournalEntry[] = [];
    journal.follow({ matches: () => true, listener: (e) => heard.push(e) });
    try {
      await projector.start();
      assert.equal(journal.partitions, 2, 'the partition count is known at start');

      const placed = orderEvent('OrderPlaced', 'o1', { customerId: 'c1', lines: [{ productId: 'p1', quantity: 1, unitPriceCents: 100 }] });
      const paid = orderEvent('OrderPaid', 'o1', { amountCents: 100 }, 'o1:paid');
      const positions = await log.publish(ORDERS_TOPIC, [
        encodeOrderEvent(placed),
        { key: 'o1', value: 'not json' }, // dead-lettered
        encodeOrderEvent(orderEvent('OrderShipped', 'o1', { carrier: 'x' })), // refused: not paid
        encodeOrderEvent(paid),
        encodeOrderEvent(paid), // a duplicate
      ]);
      const last = positions.at(-1)!;
      await projector.waitFor(positions[3]!, 10_000);
      assert.deepEqual(
        heard.map((e) => [e.type, e.entity.version]),
        [
          ['OrderPlaced', 1],
          ['OrderPaid', 2],
        ],
      );
      await projector.waitFor(last, 10_000);
      assert.equal(heard.length, 2);
      const [first, second] = heard;
      assert.equal(first!.positions[last.partition], positions[0]!.offset + 1);
      assert.equal(second!.positions[last.partition], positions[3]!.offset + 1);
      // Records that applied nothing (the duplicate last) still move the journal's positions.
      assert.equal(journal.positions[last.partition], last.offset + 1);
      assert.deepEqual(JSON.parse(JSON.stringify(second)), second, 'an entry is plain JSON');
      assert.equal(second!.entity.status, 'PAID');
      assert.equal(first!.entity.status, 'PLACED', 'each event keeps the order as of that event');
    } finally {
      await projector.stop();
      await log.close();
    }
  });

  test('does not move past a refused record before it is dead-lettered, not even when stopped while waiting for that', async () => {
    const log = new MemoryEventLog({ partitions: { [ORDERS_TOPIC]: 1 } });
    let deadLetterAttempts = 0;
    // The log, except that the dead-letter topic cannot be written to.
    const failing: EventLog = {
      publish: async (topic, records) => {
        if (topic !== ORDERS_DEAD_LETTER_TOPIC) return log.publish(topic, records);
        deadLetterAttempts++;
        throw new Error('the dead-letter topic is unreachable');
      },
      consume: (options) => log.consume(options),
      endOffsets: (topic) => log.endOffsets(topic),
      close: async () => undefined,
    };
    const projector = new Projector({
      log: failing,
      topic: ORDERS_TOPIC,
      deadLetterTopic: ORDERS_DEAD_LETTER_TOPIC,
      groupId: 'test',
      logger: createLogger('test', 'silent'),
      registry: new Registry(),
    });
    try {
      await projector.start();
      const [refused] = await log.publish(ORDERS_TOPIC, [encodeOrderEvent(orderEvent('OrderShipped', 'o1', { carrier: 'x' }))]);
      await waitFor(() => deadLetterAttempts >= 2, 10_000, 'the projector tries to dead-letter the refused record');
      assert.deepEqual(projector.exportState()!.projection.positions, [refused!.offset], 'a snapshot now would not skip it');
      await projector.stop();
      assert.deepEqual(projector.exportState()!.projection.positions, [refused!.offset], 'nor one saved after stopping');
    } finally {
      await projector.stop();
      await log.close();
    }
  });
});
