/**
 * What a verified token's expiry ends on the transports that outlive a request: a WebSocket is
 * closed with 4401 (authenticate.ts); a subscription over Server-Sent Events, which has no close
 * code of its own, gets a last result with UNAUTHENTICATED and completes. Both at the token's `exp`.
 */
import type { GraphQLError } from 'graphql';
import { unauthenticated } from '../../../lib/auth/unauthenticated.ts';

/** The longest timer Node keeps (about 24.8 days); a token valid for longer is not timed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The error a connection or subscription ends with once its token expired. */
export const tokenExpired = () => unauthenticated('the token has expired');

/** The last result of a subscription whose token expired. */
type Expired = { errors: readonly GraphQLError[] };

/** Calls `expire` when `expiresAtMs` passes (at once if it has): the cancel, or undefined when it is too far off to time (or never). */
export function atExpiry(expiresAtMs: number, expire: () => void): (() => void) | undefined {
  const remaining = expiresAtMs - Date.now();
  if (!(remaining < MAX_TIMER_MS)) return undefined;
  const timer = setTimeout(expire, Math.max(0, remaining));
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * The results of a subscription until its token expires at `expiresAtMs`: then one last result
 * with UNAUTHENTICATED, and the subscription is returned (released upstream). The source itself
 * when the token is not timed.
 */
export function untilTokenExpiry<R>(source: AsyncIterable<R>, expiresAtMs: number): AsyncIterable<R | Expired> {
  // One waiter at a time, made per `next`: racing every `next` against one promise pending until
  // the expiry would keep a reaction per event alive for the token's lifetime.
  let expired = false;
  let wake: (() => void) | undefined;
  const cancel = atExpiry(expiresAtMs, () => {
    expired = true;
    wake?.();
  });
  if (!cancel) return source;
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  const finish = async () => {
    finished = true;
    cancel();
    await iterator.return?.();
    return { done: true as const, value: undefined };
  };
  // An async generator's shape (next, return, throw): graphql-sse returns only those when a client goes away.
  const ending: AsyncGenerator<R | Expired, undefined> = {
    next: async () => {
      if (finished) return { done: true, value: undefined };
      const step = expired
        ? 'expired'
        : await new Promise<IteratorResult<R> | 'expired'>((resolve, reject) => {
            wake = () => resolve('expired');
            iterator.next().then(resolve, reject);
          }).finally(() => (wake = undefined));
      if (step === 'expired') {
        // Released in the background: the client gets its last result now, whatever the source does.
        finish().catch(() => {});
        return { done: false, value: { errors: [tokenExpired()] } };
      }
      if (step.done) {
        finished = true;
        cancel();
      }
      return step;
    },
    return: finish,
    throw: async (err: unknown) => {
      await finish();
      throw err;
    },
    [Symbol.asyncIterator]: () => ending,
    [Symbol.asyncDispose]: async () => void (await finish()),
  };
  return ending;
}
