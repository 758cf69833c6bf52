/** The chaos run's summary: totals per class, the verdict, the table; and how subscribers resume. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatReport, summarize, type SubscriberResult } from './report.ts';
import { subscribePayload, type SubscriberSpec } from './subscribers.ts';

const row = (name: string, klass: SubscriberResult['class'], over: Partial<SubscriberResult> = {}): SubscriberResult => ({
  name,
  class: klass,
  filter: 'all',
  afterAs: 'literal',
  status: false,
  expected: 10,
  delivered: 10,
  duplicated: 0,
  missing: 0,
  excused: 0,
  outOfOrder: 0,
  unexpected: 0,
  missingSample: [],
  duplicateSample: [],
  signals: {},
  erroredResults: {},
  statuses: 0,
  subscriptions: 1,
  liveRestarts: 0,
  ...over,
});

const commands = {
  commands: 4,
  attempts: 6,
  acknowledged: 4,
  failed: 0,
  ordersPlaced: 4,
  duplicateOrders: 0,
  keysWithDuplicates: 0,
  acknowledgedNotPlaced: 0,
  errors: { NETWORK: 2 },
};

const input = (subscribers: SubscriberResult[], commandDiff = commands) => ({
  settings: { events: 100, seconds: 60, seed: 1, subscribers: subscribers.length, commandRate: 3, resolveCustomer: false },
  idempotency: 'supported',
  log: { records: 120, applied: 100, duplicate: 10, malformed: 5, refused: 5, splitOrders: 0, producerRecords: 100, hostileRecords: 9 },
  commands: commandDiff,
  faults: [{ name: 'kill -9 the gateway', atMs: 1000, tookMs: 2000, ok: true, detail: 'pid 1 killed' }],
  subscribers,
  timings: {},
  notes: [],
});

describe('the summary', () => {
  test('adds up each class and the total, signals by code', () => {
    const s = summarize(
      input([
        row('plain-1', 'plain', { signals: { CLOSED_1006: 1 } }),
        row('plain-2', 'plain', { signals: { CLOSED_1006: 1, INTERNAL_SERVER_ERROR: 2 } }),
        row('customer-1', 'customer', { expected: 3, delivered: 3 }),
      ]),
    );
    assert.deepEqual(s.classes.plain.signalled, { CLOSED_1006: 2, INTERNAL_SERVER_ERROR: 2 });
    assert.equal(s.classes.plain.expected, 20);
    assert.equal(s.classes.customer.subscribers, 1);
    assert.equal(s.classes.types.subscribers, 0);
    assert.equal(s.classes.total.delivered, 23);
    assert.equal(s.ok, true);
    assert.deepEqual(s.failures, []);
    assert.match(formatReport(s), /verdict: PASS/);
    assert.match(formatReport(s), /after` as a literal \(3 subscribers\): CLOSED_1006 2, INTERNAL_SERVER_ERROR 2$/m);
  });

  test('fails on duplicates, missing, out-of-order and unexpected deliveries and on duplicate orders, naming each', () => {
    const s = summarize(
      input(
        [
          row('plain-1', 'plain', { duplicated: 2, missing: 1, missingSample: ['a#2'] }),
          row('types-1', 'types', { outOfOrder: 1, unexpected: 1 }),
        ],
        { ...commands, duplicateOrders: 3, keysWithDuplicates: 2, acknowledgedNotPlaced: 1 },
      ),
    );
    assert.equal(s.ok, false);
    assert.deepEqual(s.failures, [
      '2 duplicate deliveries',
      '1 missing deliveries',
      '1 deliveries out of order',
      '1 deliveries of events never applied',
      '3 duplicate orders (2 commands)',
      '1 acknowledged orders not in the log',
    ]);
    const text = formatReport(s);
    assert.match(text, /^total +2 +20 +20 +2 +1 +0 +1 +1 +0 +-$/m);
    assert.match(text, /plain-1 .*missing 1 \["a#2"\]/);
    assert.match(text, /verdict: FAIL/);
  });

  test('does not fail on excused deliveries or signals alone', () => {
    assert.equal(summarize(input([row('customer-1', 'customer', { excused: 4, missing: 0, signals: { COMPLETE: 1 } })])).ok, true);
  });
});

describe('a subscriber resuming', () => {
  const spec: SubscriberSpec = { name: 's', class: 'customer', filter: { customerId: 'c9' }, afterAs: 'literal', status: true };

  test('subscribes live without a position, with its filter as variables and the status opt-in', () => {
    const payload = subscribePayload(spec, undefined);
    assert.doesNotMatch(String(payload['query']), /after/);
    assert.deepEqual(payload['variables'], { customerId: 'c9' });
    assert.deepEqual(payload['extensions'], { stream: { status: true } });
  });

  test('passes its position as a literal or as a variable', () => {
    const literal = subscribePayload(spec, 'djE6MSwy');
    assert.match(String(literal['query']), /orderEvents\(customerId: \$customerId, after: "djE6MSwy"\)/);
    const variable = subscribePayload({ ...spec, afterAs: 'variable', status: false, filter: { types: ['OrderPaid'] } }, 'djE6MSwy');
    assert.match(String(variable['query']), /\$after: String/);
    assert.deepEqual(variable['variables'], { types: ['PAID'], after: 'djE6MSwy' });
    assert.equal(variable['extensions'], undefined);
  });
});
