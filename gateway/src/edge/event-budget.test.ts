/**
 * A client's subscription event budget, charged as results are delivered: two clients share one
 * upstream subscription, one of them with a tiny budget. That one's subscription ends with
 * RATE_LIMITED naming the last position it was delivered; the other gets every event and the
 * upstream subscription stays open.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionResult } from 'graphql';
import { createLogger } from '../../../lib/logger.ts';
import { FakeClock, FakeUpstream, take } from '../../../test/support/fake-upstream.ts';
import { SharedSubscription } from '../subscriptions/shared.ts';
import type { EventBudget } from '../subscriptions/subscriber.ts';
import { ClientRate } from './rate.ts';

const log = createLogger('test', 'silent');

function sharedSubscription(upstream: FakeUpstream) {
  return new SharedSubscription({
    key: 'k',
    open: upstream.open,
    resumeArgument: 'after',
    resolve: async (event) => ({ data: event.data }),
    subscriberCapacity: 100,
    lagThresholdEvents: 10,
    policy: { attempts: 5, budgetMs: 60_000 },
    clock: new FakeClock(),
    log,
    serviceName: 'orders',
    onClose: () => {},
  });
}

/** A budget of `events` results, then none (retry in 750 ms). */
function budgetOf(events: number): EventBudget & { charged: number } {
  const budget = {
    charged: 0,
    take: async () => (++budget.charged <= events ? undefined : 750),
  };
  return budget;
}

const n = (result: ExecutionResult): unknown => (result.data as { n?: unknown } | null | undefined)?.n;

test(
  'a client over its event budget is ended with RATE_LIMITED and its last delivered cursor; the client sharing the subscription is not affected',
  { timeout: 10_000 },
  async () => {
    const upstream = new FakeUpstream();
    const shared = sharedSubscription(upstream);
    const tiny = budgetOf(2);
    const limited = shared.join({ budget: tiny });
    const other = shared.join({ budget: budgetOf(1_000) });
    const live = await upstream.opened(1);
    live.checkpoint('p0');
    for (let i = 1; i <= 5; i++) live.event({ n: i }, `p${i}`);

    const [first, second, refusal] = await take(limited, 3);
    assert.deepEqual(
      [first, second].map((r) => n(r!)),
      [1, 2],
    );
    assert.deepEqual(
      refusal!.errors?.map((e) => e.extensions),
      [{ code: 'RATE_LIMITED', limit: 'subscriptionEvents', retryAfterMs: 750, lastDeliveredCursor: 'p2' }],
    );
    assert.match(refusal!.errors![0]!.message, /resume with after: "p2"/);
    assert.deepEqual(await limited.next(), { value: undefined, done: true });

    assert.deepEqual((await take(other, 5)).map(n), [1, 2, 3, 4, 5]);
    live.event({ n: 6 }, 'p6');
    assert.deepEqual((await take(other, 1)).map(n), [6]);
    assert.equal(shared.size, 1, 'only the limited client left');
    assert.equal(live.released, false, 'the upstream subscription stays open');
    await other.return();
  },
);

test('status-only results and errors are not charged; a client within its budget gets everything', { timeout: 10_000 }, async () => {
  const upstream = new FakeUpstream();
  const shared = sharedSubscription(upstream);
  const budget = budgetOf(3);
  const client = shared.join({ budget, status: true });
  const live = await upstream.opened(1);
  live.checkpoint('p0').event({ n: 1 }, 'p1').event({ n: 2 }, 'p2').event({ n: 3 }, 'p3');
  const results = await take(client, 4);
  assert.deepEqual(results.map(n), [undefined, 1, 2, 3], 'a status-only result first, then the three events');
  assert.equal(budget.charged, 3);
  await client.return();
});

test(
  'ClientRate allows the per-second rate plus the burst, then says when to retry; each client has its own',
  { timeout: 10_000 },
  async () => {
    // One a minute plus a burst of two: three at once, then a wait of most of a minute.
    const rate = new ClientRate('test', 1 / 60, 2);
    for (let i = 0; i < 3; i++) assert.equal(await rate.take('a'), undefined, `take ${i + 1} of 3`);
    const retryAfterMs = await rate.take('a');
    assert.ok(retryAfterMs !== undefined && retryAfterMs > 1_000 && retryAfterMs <= 60_000, `retry after ${retryAfterMs} ms`);
    assert.equal(await rate.take('b'), undefined, 'another client is not affected');
    const off = new ClientRate('off', 0, 0);
    for (let i = 0; i < 1_000; i++) assert.equal(await off.take('a'), undefined);
  },
);
