/**
 * The one way tests wait: on a condition, with a deadline. Deadlines are generous on purpose (a
 * loaded 2-core machine runs several test files at once) and stretch further with
 * `TEST_TIME_SCALE` (for example `TEST_TIME_SCALE=3` on a very slow machine). A deadline that
 * passes fails the test with the message and, for assertion-style checks, the last failure.
 */
import { setTimeout as delay } from 'node:timers/promises';

const scale = Number(process.env['TEST_TIME_SCALE'] ?? '1');
if (!Number.isFinite(scale) || scale <= 0)
  throw new Error(`TEST_TIME_SCALE must be a positive number, got ${process.env['TEST_TIME_SCALE']}`);

/** `ms` stretched by TEST_TIME_SCALE: use it for every deadline a test sets. */
export const scaled = (ms: number): number => Math.round(ms * scale);

/**
 * Resolves once `check` returns true (or, for an assertion-style check, returns without
 * throwing); polls every `intervalMs`; rejects with `message` once `timeoutMs` (scaled) passed,
 * also when a check is still running then (a request that hangs, say).
 */
export async function waitFor(
  check: () => boolean | void | Promise<boolean | void>,
  timeoutMs: number,
  message: string,
  intervalMs = 25,
): Promise<void> {
  const budget = scaled(timeoutMs);
  const deadline = Date.now() + budget;
  let lastError: unknown;
  const expired = Symbol('expired');
  for (;;) {
    const left = Math.max(1, deadline - Date.now());
    const timeout = new AbortController();
    try {
      const outcome = await Promise.race([check(), delay(left, expired, { signal: timeout.signal })]);
      if (outcome === expired) lastError = new Error(`a check was still running at the deadline`);
      else if (outcome !== false) return;
      else lastError = undefined;
    } catch (err) {
      lastError = err;
    } finally {
      timeout.abort();
    }
    if (Date.now() > deadline) {
      const last = lastError instanceof Error ? `; last failure: ${lastError.message}` : '';
      throw new Error(`${message}: not reached within ${budget} ms${last}`, { cause: lastError });
    }
    await delay(intervalMs);
  }
}

/** Settles like `promise`, or rejects with `message` after `timeoutMs` (scaled). */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  const budget = scaled(timeoutMs);
  const timeout = new AbortController();
  try {
    return await Promise.race([
      promise,
      delay(budget, undefined, { signal: timeout.signal }).then(() => {
        throw new Error(`${message}: timed out after ${budget} ms`);
      }),
    ]);
  } finally {
    timeout.abort();
  }
}

/**
 * Waits `ms` (not scaled). Only for checking that something does NOT happen within a window,
 * never to let something happen: wait for that with `waitFor`.
 */
export const quietPeriod = (ms: number): Promise<void> => delay(ms);
