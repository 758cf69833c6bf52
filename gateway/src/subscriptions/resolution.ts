/**
 * How the gateway resolves subscription events across the subgraphs, one policy for every stream
 * (shared, replays, reopened), built on cockatiel:
 *
 * - At most `concurrency` events are resolved at once, gateway-wide; the others wait their turn.
 *   Each stream already keeps a few dozen in flight, so without this bound a burst (many clients
 *   resuming at once, each with a private replay) sends hundreds of entity fetches at once, the
 *   subgraphs answer them too late, and every event of the burst arrives with errors instead of its
 *   fields. The wait is bounded by the streams themselves (each has a bounded number in flight),
 *   so the queue has no bound of its own.
 * - An event whose resolution failed only because a subgraph did not answer (every error is
 *   SUBGRAPH_UNAVAILABLE: a timeout, a refused connection) is resolved again after a jittered
 *   exponential back-off, up to `retries` times, before it is delivered with its errors. Entity
 *   fetches are reads, so a retry changes nothing but the answer. The back-off holds no slot.
 */
import { ExponentialBackoff, bulkhead, handleWhenResult, retry } from 'cockatiel';
import type { ExecutionResult } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';

export interface EventResolutionOptions {
  /** Events resolved at once, gateway-wide. */
  concurrency: number;
  /** Extra attempts for an event whose subgraphs were unavailable; 0: none. */
  retries: number;
  /** First back-off, in ms (doubling, jittered). Default 100. */
  initialDelayMs?: number | undefined;
}

export interface EventResolution {
  /** Runs `resolve` in turn; `retryable`: it may be run again when its result says a subgraph was unavailable. */
  run(resolve: () => Promise<ExecutionResult>, retryable: boolean): Promise<ExecutionResult>;
}

/** A result whose every error says a subgraph did not answer: resolving it again may succeed. */
export function onlyUnavailable(result: ExecutionResult): boolean {
  const errors = result.errors ?? [];
  return errors.length > 0 && errors.every((e) => e.extensions?.['code'] === ErrorCode.SUBGRAPH_UNAVAILABLE);
}

export function eventResolution(options: EventResolutionOptions): EventResolution {
  const limiter = bulkhead(options.concurrency, Number.POSITIVE_INFINITY);
  const again = retry(
    handleWhenResult((result) => onlyUnavailable(result as ExecutionResult)),
    {
      maxAttempts: options.retries,
      backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 100, maxDelay: 2_000 }),
    },
  );
  const inTurn = (resolve: () => Promise<ExecutionResult>) => limiter.execute(resolve);
  return {
    run: (resolve, retryable) => (retryable && options.retries > 0 ? again.execute(() => inTurn(resolve)) : inTurn(resolve)),
  };
}
