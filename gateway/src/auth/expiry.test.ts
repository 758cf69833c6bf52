import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { untilTokenExpiry } from './expiry.ts';

/** A source whose results the test hands out one by one, and that records being returned. */
function source() {
  const waiting: ((value: IteratorResult<number>) => void)[] = [];
  let returned = false;
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: () => new Promise<IteratorResult<number>>((resolve) => waiting.push(resolve)),
      return: async () => {
        returned = true;
        for (const resolve of waiting.splice(0)) resolve({ done: true, value: undefined });
        return { done: true, value: undefined };
      },
    }),
  };
  return {
    iterable,
    give: (value: number) => waiting.shift()?.({ done: false, value }),
    returned: () => returned,
  };
}

const expiredResult = { done: false, value: { errors: [{ message: 'the token has expired', code: 'UNAUTHENTICATED' }] } };
const plain = (step: IteratorResult<unknown>) =>
  step.done
    ? step
    : {
        done: false,
        value:
          typeof step.value === 'number'
            ? step.value
            : {
                errors: (step.value as { errors: { message: string; extensions: { code: string } }[] }).errors.map((e) => ({
                  message: e.message,
                  code: e.extensions.code,
                })),
              },
      };

describe('a subscription until its token expires', () => {
  test(
    'passes results on, then ends with UNAUTHENTICATED while waiting for the next, and returns its source',
    { timeout: 10_000 },
    async () => {
      const src = source();
      const results = untilTokenExpiry(src.iterable, Date.now() + 300)[Symbol.asyncIterator]();
      const first = results.next();
      src.give(1);
      assert.deepEqual(await first, { done: false, value: 1 });
      assert.deepEqual(plain(await results.next()), expiredResult);
      assert.deepEqual(await results.next(), { done: true, value: undefined });
      assert.equal(src.returned(), true);
    },
  );

  test('a token that expired between two results ends the next one at once', { timeout: 10_000 }, async () => {
    const src = source();
    const results = untilTokenExpiry(src.iterable, Date.now() + 50)[Symbol.asyncIterator]();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(plain(await results.next()), expiredResult);
    assert.equal(src.returned(), true);
  });

  test('a token valid for longer than a timer can hold leaves the source as it is', () => {
    const src = source();
    assert.equal(untilTokenExpiry(src.iterable, Date.now() + 2 ** 32), src.iterable);
  });
});
