import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExecutionResult } from 'graphql';
import { FakeClock } from '../../../test/support/fake-upstream.ts';
import { quietPeriod, waitFor } from '../../../test/support/wait.ts';
import { Subscriber } from './subscriber.ts';

const event = (n: number): ExecutionResult => ({ data: { n } });

describe('a subscriber buffer', () => {
  test('delivers offered results in order, to a waiting reader too', async () => {
    const subscriber = new Subscriber({ capacity: 10, onEnd: () => undefined });
    const waiting = subscriber.next();
    subscriber.offer(event(1), 'c1');
    subscriber.offer(event(2), 'c2');
    assert.deepEqual(await waiting, { value: event(1), done: false });
    assert.deepEqual(await subscriber.next(), { value: event(2), done: false });
  });

  test('ends a reader that falls behind with SUBSCRIBER_TOO_SLOW naming the last position it got', async () => {
    let ended = 0;
    const subscriber = new Subscriber({ capacity: 2, onEnd: () => ended++, resumeArgument: 'after' });
    subscriber.offer(event(1), 'c1');
    assert.deepEqual((await subscriber.next()).value, event(1));
    subscriber.offer(event(2), 'c2');
    subscriber.offer(event(3), 'c3');
    subscriber.offer(event(4), 'c4'); // the third waiting result: over capacity
    const last = await subscriber.next();
    assert.equal(last.done, false);
    const error = (last.value as ExecutionResult).errors?.[0];
    assert.equal(error?.extensions['code'], 'SUBSCRIBER_TOO_SLOW');
    assert.equal(error?.extensions['lastDeliveredCursor'], 'c1');
    assert.match(error?.message ?? '', /resume with after: "c1"/);
    assert.deepEqual(await subscriber.next(), { value: undefined, done: true });
    assert.equal(ended, 1);
    subscriber.offer(event(5), 'c5');
    assert.equal(subscriber.pending, 0, 'nothing is kept after the end');
  });

  test('tells a waiting reader at once when the shared subscription falls behind', async () => {
    const subscriber = new Subscriber({ capacity: 5, onEnd: () => undefined });
    subscriber.offer(event(1), 'c1');
    await subscriber.next();
    const waiting = subscriber.next();
    subscriber.fallBehind();
    assert.equal(((await waiting).value as ExecutionResult).errors?.[0]?.extensions['lastDeliveredCursor'], 'c1');
    assert.deepEqual(await subscriber.next(), { value: undefined, done: true });
  });

  test('return() ends it, drops what waits and reports the end once', async () => {
    let ended = 0;
    const subscriber = new Subscriber({ capacity: 5, onEnd: () => ended++ });
    subscriber.offer(event(1), 'c1');
    assert.deepEqual(await subscriber.return(), { value: undefined, done: true });
    assert.deepEqual(await subscriber.next(), { value: undefined, done: true });
    await subscriber.return();
    assert.equal(ended, 1);
  });

  test('close() delivers what is buffered and a last result, then ends', async () => {
    const subscriber = new Subscriber({ capacity: 5, onEnd: () => undefined });
    subscriber.offer(event(1), 'c1');
    subscriber.close({ errors: [] });
    assert.deepEqual((await subscriber.next()).value, event(1));
    assert.deepEqual((await subscriber.next()).value, { errors: [] });
    assert.equal((await subscriber.next()).done, true);
  });
});

describe('a subscriber position', () => {
  const status = { lagging: false };

  test('a checkpoint with nothing waiting moves the delivered position: SUBSCRIBER_TOO_SLOW names it', async () => {
    const subscriber = new Subscriber({ capacity: 1, onEnd: () => undefined, start: 'p0', resumeArgument: 'after' });
    subscriber.advance('p1', status);
    subscriber.offer(event(1), 'p2');
    subscriber.offer(event(2), 'p3'); // over capacity
    const error = ((await subscriber.next()).value as ExecutionResult).errors?.[0];
    assert.equal(error?.extensions['lastDeliveredCursor'], 'p1');
  });

  test("a checkpoint behind a waiting result moves that result's position", async () => {
    const subscriber = new Subscriber({ capacity: 5, onEnd: () => undefined, start: 'p0' });
    subscriber.offer(event(1), 'p1');
    subscriber.advance('p5', status);
    assert.equal(subscriber.position, 'p5');
    await subscriber.next();
    subscriber.fallBehind();
    const error = ((await subscriber.next()).value as ExecutionResult).errors?.[0];
    assert.equal(error?.extensions['lastDeliveredCursor'], 'p5');
  });

  test('status-only results carry the position, at most one a second for checkpoints, and replace each other', async () => {
    const clock = new FakeClock();
    const subscriber = new Subscriber({ capacity: 5, onEnd: () => undefined, status: true, clock });
    subscriber.advance('p1', status);
    clock.advance(500);
    subscriber.advance('p2', status); // within the second: deferred
    assert.deepEqual((await subscriber.next()).value, { extensions: { stream: { lagging: false, position: 'p1' } } });
    assert.equal(subscriber.pending, 0);
    clock.advance(500); // the second is over: the newest position goes out
    assert.deepEqual((await subscriber.next()).value, { extensions: { stream: { lagging: false, position: 'p2' } } });
    clock.advance(1_000);
    subscriber.advance('p3', status);
    subscriber.statusChanged({ lagging: true, reason: 'RECONNECTING' });
    assert.equal(subscriber.pending, 1, 'a waiting status-only result is replaced');
    assert.deepEqual((await subscriber.next()).value, {
      extensions: { stream: { lagging: true, reason: 'RECONNECTING', position: 'p3' } },
    });
  });

  test('results offered while lagging carry extensions.stream; a client that did not opt in gets no status-only results', async () => {
    const subscriber = new Subscriber({ capacity: 5, onEnd: () => undefined });
    subscriber.statusChanged({ lagging: true, reason: 'PROJECTION_BEHIND', behindEvents: 12 });
    subscriber.offer(event(1), 'p1', { lagging: true, reason: 'PROJECTION_BEHIND', behindEvents: 12 });
    assert.deepEqual((await subscriber.next()).value, {
      data: { n: 1 },
      extensions: { stream: { lagging: true, reason: 'PROJECTION_BEHIND', behindEvents: 12, position: 'p1' } },
    });
    assert.equal(subscriber.pending, 0);
  });

  test('held shared results follow the replayed ones', async () => {
    const subscriber = new Subscriber({ capacity: 5, onEnd: () => undefined, start: 'p0' });
    subscriber.hold();
    subscriber.offer(event(3), 'p3');
    subscriber.offerReplay(event(1), 'p1');
    subscriber.offerReplay(event(2), 'p2');
    subscriber.release();
    const got = [await subscriber.next(), await subscriber.next(), await subscriber.next()].map((r) => r.value);
    assert.deepEqual(got, [event(1), event(2), event(3)]);
  });

  test('room is reserved per replayed result: results waiting and on their way never exceed the capacity', async () => {
    const subscriber = new Subscriber({ capacity: 2, onEnd: () => undefined });
    let granted = 0;
    for (let i = 0; i < 3; i++) void subscriber.room().then(() => granted++);
    await waitFor(() => granted === 2, 5_000, 'the room there is was never granted', 1);
    subscriber.offerReplay(event(1), 'p1'); // the first reservation turns into a waiting result
    await quietPeriod(20);
    assert.equal(granted, 2, 'one waiting and one on its way: full');
    assert.deepEqual((await subscriber.next()).value, event(1));
    await waitFor(() => granted === 3, 5_000, 'taking a result never made room', 1);
  });

  test('held shared results count against the capacity on their own, and are delivered after the replay whatever it left waiting', async () => {
    const subscriber = new Subscriber({ capacity: 2, onEnd: () => undefined, start: 'p0' });
    subscriber.hold();
    for (let i = 1; i <= 4; i++) subscriber.offerReplay(event(i), `p${i}`);
    subscriber.offer(event(5), 'p5');
    subscriber.offer(event(6), 'p6');
    assert.equal(subscriber.done, false);
    subscriber.release();
    const got = [];
    for (let i = 0; i < 6; i++) got.push((await subscriber.next()).value);
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6].map(event));
    subscriber.hold();
    for (let i = 7; i <= 9; i++) subscriber.offer(event(i), `p${i}`);
    assert.equal(subscriber.done, true, 'the third held result is over capacity');
  });
});
