import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExecutionResult } from 'graphql';
import { FakeClock } from '../../../test/support/fake-upstream.ts';
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
});
