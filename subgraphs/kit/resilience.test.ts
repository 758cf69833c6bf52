import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';
import { createCallPolicy, UpstreamFailure, type Call, type ResilienceOptions } from './resilience.ts';
import { rejectsWithFailure, type ExpectedFailure } from '../../test/support/upstream.ts';

const upstream = 'orders';

const options: ResilienceOptions = {
  upstream,
  timeoutMs: 100,
  maxConcurrent: 4,
  maxQueued: 4,
  retries: 3,
  breakerThreshold: 10,
  breakerCooldownMs: 300,
};

const unavailable = () => new UpstreamFailure(ErrorCode.UPSTREAM_UNAVAILABLE, 'orders answered 503', true, upstream);

/** A call that counts its attempts and answers each with `answer(attempt)`, attempt counting from 1. */
function counted<T>(answer: (attempt: number, signal: AbortSignal) => Promise<T>): Call<T> & { attempts: number } {
  const call: Call<T> & { attempts: number } = Object.assign((signal: AbortSignal) => answer(++call.attempts, signal), { attempts: 0 });
  return call;
}

/** Never settles by itself; rejects once the policy aborts the attempt, as a cooperative call would. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

/** Asserts that `promise` rejects with an `UpstreamFailure` of exactly this shape. */
const rejectsWith = (promise: Promise<unknown>, expected: ExpectedFailure) => rejectsWithFailure(promise, upstream, expected);

describe('createCallPolicy retries', () => {
  test('never retries a non-idempotent call, even when its failure is retryable', async () => {
    const policy = createCallPolicy(options);
    const failure = unavailable();
    const call = counted(async () => {
      throw failure;
    });
    await assert.rejects(policy.run(call, false), (err) => err === failure);
    assert.equal(call.attempts, 1);
  });

  test('never retries a non-idempotent call that timed out', async () => {
    const policy = createCallPolicy(options);
    const call = counted(() => sleep(300));
    await rejectsWith(policy.run(call, false), {
      code: ErrorCode.UPSTREAM_TIMEOUT,
      message: 'orders did not answer within 100 ms',
      retryable: true,
    });
    assert.equal(call.attempts, 1);
  });

  test('attempts an idempotent call with a retryable failure 1 + retries times and rethrows the last failure', async () => {
    const policy = createCallPolicy(options);
    const failures: UpstreamFailure[] = [];
    const call = counted(async () => {
      failures.push(unavailable());
      throw failures.at(-1);
    });
    await assert.rejects(policy.run(call, true), (err) => err === failures[3]);
    assert.equal(call.attempts, 4);
  });

  test('resolves an idempotent call that succeeds on a retry', async () => {
    const policy = createCallPolicy(options);
    const call = counted(async (attempt) => {
      if (attempt < 3) throw unavailable();
      return `answer ${attempt}`;
    });
    assert.equal(await policy.run(call, true), 'answer 3');
    assert.equal(call.attempts, 3);
  });

  test('does not retry an idempotent call whose failure is not retryable', async () => {
    const policy = createCallPolicy(options);
    const call = counted(async () => {
      throw new UpstreamFailure(ErrorCode.UPSTREAM_BAD_RESPONSE, 'orders answered 400', false, upstream);
    });
    await rejectsWith(policy.run(call, true), { code: ErrorCode.UPSTREAM_BAD_RESPONSE, message: 'orders answered 400', retryable: false });
    assert.equal(call.attempts, 1);
  });

  test('attempts an idempotent call once when retries is 0', async () => {
    const policy = createCallPolicy({ ...options, retries: 0 });
    const call = counted(async () => {
      throw unavailable();
    });
    await rejectsWith(policy.run(call, true), { code: ErrorCode.UPSTREAM_UNAVAILABLE, message: 'orders answered 503', retryable: true });
    assert.equal(call.attempts, 1);
  });
});

describe('createCallPolicy timeouts and errors', () => {
  test('fails with UPSTREAM_TIMEOUT once an attempt runs past timeoutMs, and aborts the signal of the attempt', async () => {
    const policy = createCallPolicy({ ...options, retries: 0 });
    let signal: AbortSignal | undefined;
    let answered = false;
    await rejectsWith(
      policy.run((s) => {
        signal = s;
        return sleep(600, 'too late').then((value) => {
          answered = true;
          return value;
        });
      }, true),
      { code: ErrorCode.UPSTREAM_TIMEOUT, message: 'orders did not answer within 100 ms', retryable: true },
    );
    assert.equal(answered, false, 'it failed at the timeout, not when the call would have answered');
    assert.equal(signal?.aborted, true);
  });

  test('fails with UPSTREAM_TIMEOUT when the call rejects as soon as its signal aborts', async () => {
    const policy = createCallPolicy({ ...options, retries: 1, breakerThreshold: 2 });
    const call = counted((_attempt, signal) => untilAborted(signal));
    await rejectsWith(policy.run(call, true), {
      code: ErrorCode.UPSTREAM_TIMEOUT,
      message: 'orders did not answer within 100 ms',
      retryable: true,
    });
    assert.equal(call.attempts, 2, 'a timed-out read is retried');
    assert.equal(policy.breakerState, 'Open', 'timeouts count against the breaker');
  });

  test('passes an InterchangeError through unchanged', async () => {
    const policy = createCallPolicy(options);
    const original = new InterchangeError(ErrorCode.BAD_USER_INPUT, 'first must be at most 100');
    await assert.rejects(
      policy.run(async () => {
        throw original;
      }, true),
      (err) => err === original,
    );
  });

  test('turns any other error into UPSTREAM_BAD_RESPONSE, not retried, keeping it as the original error', async () => {
    const policy = createCallPolicy(options);
    const boom = new TypeError('boom');
    const call = counted(async () => {
      throw boom;
    });
    const failure = await rejectsWith(policy.run(call, true), {
      code: ErrorCode.UPSTREAM_BAD_RESPONSE,
      message: 'orders call failed: TypeError: boom',
      retryable: false,
    });
    assert.equal(failure.originalError, boom);
    assert.equal(call.attempts, 1);
  });
});

describe('createCallPolicy circuit breaker', () => {
  test('counts the failures of non-idempotent calls too', async () => {
    const policy = createCallPolicy({ ...options, breakerThreshold: 2 });
    const call = counted(async () => {
      throw unavailable();
    });
    await assert.rejects(policy.run(call, false));
    await assert.rejects(policy.run(call, false));
    assert.equal(policy.breakerState, 'Open');
    await rejectsWith(policy.run(call, false), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: 'orders is failing; calls are paused (circuit open)',
      retryable: false,
    });
    assert.equal(call.attempts, 2);
  });

  test('counts every timed-out attempt of a retried call as a failure', async () => {
    const policy = createCallPolicy({ ...options, timeoutMs: 50, retries: 2, breakerThreshold: 3 });
    const call = counted(() => sleep(200));
    await rejectsWith(policy.run(call, true), {
      code: ErrorCode.UPSTREAM_TIMEOUT,
      message: 'orders did not answer within 50 ms',
      retryable: true,
    });
    assert.equal(call.attempts, 3);
    assert.equal(policy.breakerState, 'Open');
  });

  test('does not count UPSTREAM_BAD_RESPONSE or UPSTREAM_OVERLOADED failures', async () => {
    const policy = createCallPolicy({ ...options, breakerThreshold: 2 });
    for (const code of [ErrorCode.UPSTREAM_BAD_RESPONSE, ErrorCode.UPSTREAM_OVERLOADED]) {
      for (let i = 0; i < 3; i++) {
        await assert.rejects(
          policy.run(async () => {
            throw new UpstreamFailure(code, 'not the backend being down', false, upstream);
          }, true),
        );
      }
    }
    assert.equal(policy.breakerState, 'Closed');
  });
});

describe('createCallPolicy bulkhead', () => {
  test('queues calls beyond maxConcurrent, and fails calls beyond maxQueued fast with UPSTREAM_OVERLOADED', async () => {
    const policy = createCallPolicy({ ...options, maxConcurrent: 2, maxQueued: 1 });
    let running = 0;
    let mostRunning = 0;
    const call = async () => {
      running += 1;
      mostRunning = Math.max(mostRunning, running);
      await sleep(30);
      running -= 1;
      return 'done';
    };
    const accepted = [policy.run(call, true), policy.run(call, false), policy.run(call, true)];
    await rejectsWith(policy.run(call, false), {
      code: ErrorCode.UPSTREAM_OVERLOADED,
      message: 'too many calls to orders in flight',
      retryable: false,
    });
    assert.deepEqual(await Promise.all(accepted), ['done', 'done', 'done']);
    assert.equal(mostRunning, 2);
  });
});
