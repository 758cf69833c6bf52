import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExecutionResult } from 'graphql';
import { Subscriber } from './subscriber.ts';

const event = (n: number): ExecutionResult => ({ data: { n } });

describe('a subscriber buffer', () => {
  test('delivers offered results in order, to a waiting reader too', async () => {
    const subscriber = new Subscriber(10, () => undefined);
    const waiting = subscriber.next();
    subscriber.offer(event(1), 'c1');
    subscriber.offer(event(2), 'c2');
    assert.deepEqual(await waiting, { value: event(1), done: false });
    assert.deepEqual(await subscriber.next(), { value: event(2), done: false });
  });

  test('ends a reader that falls behind with SUBSCRIBER_TOO_SLOW naming the last cursor it got', async () => {
    let ended = 0;
    const subscriber = new Subscriber(2, () => ended++);
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
    const subscriber = new Subscriber(5, () => undefined);
    subscriber.offer(event(1), 'c1');
    await subscriber.next();
    const waiting = subscriber.next();
    subscriber.fallBehind();
    assert.equal(((await waiting).value as ExecutionResult).errors?.[0]?.extensions['lastDeliveredCursor'], 'c1');
    assert.deepEqual(await subscriber.next(), { value: undefined, done: true });
  });

  test('return() ends it, drops what waits and reports the end once', async () => {
    let ended = 0;
    const subscriber = new Subscriber(5, () => ended++);
    subscriber.offer(event(1), 'c1');
    assert.deepEqual(await subscriber.return(), { value: undefined, done: true });
    assert.deepEqual(await subscriber.next(), { value: undefined, done: true });
    await subscriber.return();
    assert.equal(ended, 1);
  });

  test('close() delivers what is buffered and a last result, then ends', async () => {
    const subscriber = new Subscriber(5, () => undefined);
    subscriber.offer(event(1), 'c1');
    subscriber.close({ errors: [] });
    assert.deepEqual((await subscriber.next()).value, event(1));
    assert.deepEqual((await subscriber.next()).value, { errors: [] });
    assert.equal((await subscriber.next()).done, true);
  });
});
