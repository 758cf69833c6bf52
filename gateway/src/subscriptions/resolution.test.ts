/**
 * The gateway-wide policy of event resolution: a bound on resolutions at once (the rest wait their
 * turn, none is refused), and resolutions whose subgraphs did not answer run again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import { eventResolution, onlyUnavailable } from './resolution.ts';

const TEST = { timeout: 10_000 };

const failure = (code: string): ExecutionResult => ({
  data: null,
  errors: [new GraphQLError('no answer', { extensions: { code, serviceName: 'customers' } })],
});
const unavailable = failure(ErrorCode.SUBGRAPH_UNAVAILABLE);

/** A resolve that answers each of `answers` in turn (the last one again once they run out), counting its calls. */
function answering(...answers: ExecutionResult[]) {
  const calls = { count: 0 };
  const resolve = async () => answers[Math.min(calls.count++, answers.length - 1)]!;
  return { calls, resolve };
}

describe('event resolution', () => {
  test('runs at most `concurrency` at once; the others wait their turn and all complete', TEST, async () => {
    const resolution = eventResolution({ concurrency: 2, retries: 0 });
    let running = 0;
    let most = 0;
    const finishers: (() => void)[] = [];
    const results = Array.from({ length: 6 }, (_, n) =>
      resolution.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => finishers.push(resolve));
        running--;
        return { data: { n } };
      }, true),
    );
    // Let the ones in turn start, then release them one at a time.
    for (let done = 0; done < 6; done++) {
      while (finishers.length === 0) await new Promise((resolve) => setImmediate(resolve));
      finishers.shift()!();
    }
    assert.deepEqual(
      (await Promise.all(results)).map((r) => r.data),
      [0, 1, 2, 3, 4, 5].map((n) => ({ n })),
    );
    assert.equal(most, 2);
  });

  test('a result whose subgraphs did not answer is resolved again, and the answer that came is delivered', TEST, async () => {
    const resolution = eventResolution({ concurrency: 4, retries: 2, initialDelayMs: 1 });
    const { calls, resolve } = answering(unavailable, { data: { n: 1 } });
    assert.deepEqual(await resolution.run(resolve, true), { data: { n: 1 } });
    assert.equal(calls.count, 2);
  });

  test('after `retries` extra attempts it is delivered with its errors', TEST, async () => {
    const resolution = eventResolution({ concurrency: 4, retries: 2, initialDelayMs: 1 });
    const { calls, resolve } = answering(unavailable);
    assert.deepEqual(await resolution.run(resolve, true), unavailable);
    assert.equal(calls.count, 3);
  });

  test('is not resolved again when it may not be, or when its errors are not all SUBGRAPH_UNAVAILABLE', TEST, async () => {
    const resolution = eventResolution({ concurrency: 4, retries: 2, initialDelayMs: 1 });
    const notRetryable = answering(unavailable);
    assert.deepEqual(await resolution.run(notRetryable.resolve, false), unavailable);
    assert.equal(notRetryable.calls.count, 1);
    const other = failure(ErrorCode.INTERNAL_SERVER_ERROR);
    const otherError = answering(other);
    assert.deepEqual(await resolution.run(otherError.resolve, true), other);
    assert.equal(otherError.calls.count, 1);
  });

  test('onlyUnavailable: every error says a subgraph did not answer', TEST, () => {
    assert.equal(onlyUnavailable(unavailable), true);
    assert.equal(onlyUnavailable({ data: { n: 1 } }), false);
    assert.equal(onlyUnavailable({ ...unavailable, errors: [...unavailable.errors!, ...failure('BAD_USER_INPUT').errors!] }), false);
  });
});
