/**
 * Resilience for every call a subgraph makes to a backend service, built on cockatiel:
 * bulkhead (bounded concurrency and queue) -> retry (idempotent calls only, jittered exponential
 * backoff) -> circuit breaker (consecutive failures open it) -> timeout per attempt.
 *
 * Failures come out as `InterchangeError`s with a registered code, so resolvers can let them
 * propagate and clients see why a field is missing.
 */
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';

export interface ResilienceOptions {
  /** The backend's name, used in error messages and `extensions.upstream`. */
  upstream: string;
  /** Time allowed for one attempt, in ms. */
  timeoutMs: number;
  /** Calls in flight at once; more wait in a queue of `maxQueued`, beyond that they fail fast. */
  maxConcurrent: number;
  maxQueued: number;
  /** Extra attempts for a retryable failure (idempotent reads only). 0 disables retries. */
  retries: number;
  /** Consecutive failures that open the circuit breaker. */
  breakerThreshold: number;
  /** How long the breaker stays open before it lets one trial call through, in ms. */
  breakerCooldownMs: number;
}

/**
 * A failure that a transport (REST, gRPC) recognised. `retryable` marks failures where the call may
 * not have reached the backend or the backend said "try again" (connection refused, 503, UNAVAILABLE).
 */
export class UpstreamFailure extends InterchangeError {
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, retryable: boolean, upstream: string, cause?: unknown) {
    super(code, message, { upstream }, cause);
    this.retryable = retryable;
  }
}

/** Failures that count against the breaker: the backend is unwell, not the request. */
const isBackendFailure = (err: unknown) =>
  err instanceof TaskCancelledError ||
  (err instanceof UpstreamFailure && (err.code === ErrorCode.UPSTREAM_UNAVAILABLE || err.code === ErrorCode.UPSTREAM_TIMEOUT));

export type Call<T> = (signal: AbortSignal) => Promise<T>;

export interface CallPolicy {
  /** Runs a call under the policy. `idempotent` calls may be retried. */
  run<T>(call: Call<T>, idempotent: boolean): Promise<T>;
  /** `Closed`, `Open`, `HalfOpen` or `Isolated`: for readiness and metrics. */
  readonly breakerState: string;
}

export function createCallPolicy(options: ResilienceOptions): CallPolicy {
  const { upstream } = options;
  const limiter = bulkhead(options.maxConcurrent, options.maxQueued);
  const breaker = circuitBreaker(handleWhen(isBackendFailure), {
    halfOpenAfter: options.breakerCooldownMs,
    breaker: new ConsecutiveBreaker(options.breakerThreshold),
  });
  const perAttempt = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
  const retrying = retry(
    handleWhen((err) => err instanceof TaskCancelledError || (err instanceof UpstreamFailure && err.retryable)),
    { maxAttempts: options.retries, backoff: new ExponentialBackoff({ initialDelay: 25, maxDelay: 500 }) },
  );
  const once = wrap(limiter, breaker, perAttempt);
  const withRetries = wrap(limiter, retrying, breaker, perAttempt);

  const translate = (err: unknown): never => {
    if (err instanceof InterchangeError) throw err;
    if (err instanceof TaskCancelledError) {
      throw new UpstreamFailure(
        ErrorCode.UPSTREAM_TIMEOUT,
        `${upstream} did not answer within ${options.timeoutMs} ms`,
        true,
        upstream,
        err,
      );
    }
    if (err instanceof BrokenCircuitError) {
      throw new UpstreamFailure(
        ErrorCode.UPSTREAM_UNAVAILABLE,
        `${upstream} is failing; calls are paused (circuit open)`,
        false,
        upstream,
        err,
      );
    }
    if (err instanceof BulkheadRejectedError) {
      throw new UpstreamFailure(ErrorCode.UPSTREAM_OVERLOADED, `too many calls to ${upstream} in flight`, false, upstream, err);
    }
    throw new UpstreamFailure(ErrorCode.UPSTREAM_BAD_RESPONSE, `${upstream} call failed: ${String(err)}`, false, upstream, err);
  };

  return {
    run: <T>(call: Call<T>, idempotent: boolean) =>
      (idempotent && options.retries > 0 ? withRetries : once)
        // A transport that rejects as soon as the timeout aborts its signal (gRPC reports CANCELLED)
        // must still count as a timeout: retryable, and a failure for the breaker.
        .execute(({ signal }) => call(signal).catch((err: unknown) => Promise.reject(signal.aborted ? new TaskCancelledError() : err)))
        .catch(translate),
    get breakerState() {
      return CircuitState[breaker.state];
    },
  };
}
