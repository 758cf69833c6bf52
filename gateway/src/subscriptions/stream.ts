/**
 * One upstream stream kept open across interruptions: the single recovery path of every
 * subscription (schema/resumable.md, "Recovery"). Whatever interrupts it (the socket lost, the
 * subgraph restarted, the subgraph ending it with SUBSCRIBER_TOO_SLOW, the gateway's own backlog
 * overflowing, the event log briefly unavailable) it is reopened after a jittered exponential
 * back-off, from the newest position it has taken (events and checkpoints alike), within a budget
 * of attempts and time. A stream that is not resumable is reopened live.
 *
 * Failures that retrying cannot fix end it with a coded error: fatal close codes of the socket,
 * CURSOR_EXPIRED, INVALID_CURSOR and any other GraphQL error of the subgraph.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/logger.ts';
import { FATAL_CLOSE_CODES, readStreamPosition, type ResumeRequest, type StreamPosition } from '../../../lib/resumable.ts';
import { UpstreamBacklogFull } from './upstream.ts';

/** Opens the upstream subscription; `resume` goes into the subscribe message's `extensions.resumable`. */
export type OpenStream = (resume: ResumeRequest | undefined) => AsyncIterableIterator<ExecutionResult>;

/** Time as the subscriptions see it (a fake one in tests). */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** A number in [0, 1) for jitter. */
  random(): number;
  /** Calls `fn` after `ms` unless cancelled first; never keeps the process alive. Returns the cancel. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const timer = setTimeout(fn, ms).unref();
    return () => clearTimeout(timer);
  },
  sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined),
  random: () => Math.random(),
};

/** How hard an interrupted stream is reopened. */
export interface RecoveryPolicy {
  /** Reopenings in a row (without a message in between) before the stream fails. */
  attempts: number;
  /** Time from the interruption within which it must be open again, in ms: no reopening is tried past it. */
  budgetMs: number;
  /** First back-off, in ms; it doubles per attempt up to `maxDelayMs`, each drawn in [50 %, 100 %]. Default 250. */
  baseDelayMs?: number | undefined;
  /** Default 5 000. */
  maxDelayMs?: number | undefined;
}

export type StreamEnd =
  /** The subgraph completed it: a live stream, or a bounded replay whose final position is its `until`. */
  | { kind: 'complete' }
  /** `stop()` was called. */
  | { kind: 'stopped' }
  /** It failed for good: subscribers get this error. */
  | { kind: 'failed'; error: GraphQLError }
  /** A stream that cannot resume lost events (its reader fell behind): subscribers get SUBSCRIBER_TOO_SLOW. */
  | { kind: 'lost' };

export interface StreamHandlers {
  /** A message (event or checkpoint) in stream order; the next is read once this settles (back-pressure). */
  message(result: ExecutionResult, position: StreamPosition | undefined): Promise<void> | void;
  /** The stream was interrupted and is being reopened (attempt counts from 1); it waits for this to settle. */
  interrupted(failure: unknown, attempt: number): Promise<void> | void;
  /** The first message after an interruption arrived: the stream is open again. It waits for this to settle. */
  recovered(): Promise<void> | void;
  /**
   * A bounded replay completed at a final position other than its `until` (the client was ahead of
   * the shared stream somewhere): the stream goes on as a live one from `after`, that final
   * position, through the same recovery. It waits for this to settle. Never called for a live stream.
   */
  unbounded(after: string | null): Promise<void> | void;
}

export interface ResumableStreamOptions {
  open: OpenStream;
  /** Whether the stream gives positions (the field is `@resumable`); else it is reopened live. */
  resumable: boolean;
  /** Where it starts: `{ after: null }` live, `{ after, until }` a bounded replay; undefined for a stream that cannot resume. */
  start: ResumeRequest | undefined;
  policy: RecoveryPolicy;
  clock: Clock;
  log: Logger;
  /** The owning subgraph, named in errors. */
  serviceName: string;
}

type Verdict = { kind: 'retry' } | Exclude<StreamEnd, { kind: 'complete' | 'stopped' }>;

export class ResumableStream {
  /** The newest position taken from the stream (undefined before its first). */
  position: string | undefined;
  private stopped = false;
  /** `reopen()` was called: the upstream ending now is no interruption, it is opened again from the position. */
  private reopening = false;
  private readonly abort = new AbortController();
  private iterator: AsyncIterableIterator<ExecutionResult> | undefined;

  private readonly options: ResumableStreamOptions;

  constructor(options: ResumableStreamOptions) {
    this.options = options;
  }

  /** Reads the stream until it ends; never rejects (a handler's exception fails the stream). */
  async run(handlers: StreamHandlers): Promise<StreamEnd> {
    const { policy, clock, resumable, start } = this.options;
    let attempt = 0;
    let interruptedAt: number | undefined;
    let request = start;
    for (;;) {
      let failure: unknown;
      let completed = false;
      try {
        this.iterator = this.options.open(request);
        // A reopen asked for before this open is done with: the stream it meant is gone.
        this.reopening = false;
        for await (const result of this.iterator) {
          if (this.stopped) break;
          const position = resumable ? readStreamPosition(result) : undefined;
          if (position) this.position = position.position;
          const interruption = interruptionOf(result, position);
          if (interruption) throw interruption;
          if (interruptedAt !== undefined) {
            attempt = 0;
            interruptedAt = undefined;
            await handlers.recovered();
          }
          await handlers.message(result, position);
        }
        completed = true;
      } catch (err) {
        failure = err;
      }
      // Between upstream subscriptions (backing off, handlers running) there is nothing to reopen.
      this.iterator = undefined;
      if (this.stopped) return { kind: 'stopped' };
      if (this.reopening) {
        this.reopening = false;
        request = resumable ? { after: this.position ?? request?.after ?? null, until: request?.until } : undefined;
        continue;
      }
      if (completed) {
        const until = request?.until;
        if (until === undefined || this.position === until) return { kind: 'complete' };
        // A bounded replay that completed elsewhere than `until`: its final position differs from
        // `until` where the client was ahead of it (schema/resumable.md, "Recovery"). Which events
        // beyond `until` the client already has is unknown, so it goes on live from there.
        const after = this.position ?? request?.after ?? null;
        this.options.log.debug({ after, until }, 'bounded replay ended beside until; going on live from its final position');
        await handlers.unbounded(after);
        request = { after };
        continue;
      }
      const verdict = classify(failure, resumable, this.options.serviceName);
      if (verdict.kind !== 'retry') return verdict;
      interruptedAt ??= clock.now();
      const backOff = Math.min(policy.maxDelayMs ?? 5_000, (policy.baseDelayMs ?? 250) * 2 ** attempt) * (0.5 + clock.random() / 2);
      if (attempt >= policy.attempts || clock.now() + backOff - interruptedAt > policy.budgetMs) {
        this.options.log.warn({ err: failure, attempts: attempt }, 'upstream subscription could not be reopened');
        return { kind: 'failed', error: unavailable(this.options.serviceName, `it could not be reopened (${describe(failure)})`) };
      }
      attempt++;
      this.options.log.warn({ err: failure, attempt, after: this.position }, 'upstream subscription interrupted; reopening it');
      await handlers.interrupted(failure, attempt);
      await clock.sleep(backOff, this.abort.signal);
      if (this.stopped) return { kind: 'stopped' };
      request = resumable && request ? { after: this.position ?? request.after, until: request.until } : undefined;
    }
  }

  /**
   * Closes the upstream subscription and opens it again (with `open`, which may now open it
   * elsewhere) from the newest position taken, without counting it as an interruption: nothing
   * is missed and nothing comes twice for a resumable stream. A stream without positions is
   * reopened live.
   */
  reopen(): void {
    if (this.stopped || !this.iterator) return;
    this.reopening = true;
    this.iterator.return?.().catch(() => undefined);
  }

  /** Ends the stream: the upstream subscription is released and `run` resolves with `stopped`. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    this.iterator?.return?.().catch(() => undefined);
  }
}

/** Codes of a subgraph's error that say "resume and it will work": the stream is reopened from its position. */
const RECOVERABLE_CODES: ReadonlySet<unknown> = new Set([ErrorCode.SUBSCRIBER_TOO_SLOW, ErrorCode.EVENT_LOG_UNAVAILABLE]);
/** Of those, the ones after which events are lost unless the stream resumes from a position. */
const LOSSY_CODES: ReadonlySet<unknown> = new Set([ErrorCode.SUBSCRIBER_TOO_SLOW]);

const codesOf = (errors: readonly unknown[]): unknown[] =>
  errors.map((e) => (e as { extensions?: Record<string, unknown> } | null)?.extensions?.['code']);

/**
 * The subgraph's errors when a result ends the stream rather than being an event: errors carrying
 * a recoverable code, whatever else the result carries (the orders subgraph sends
 * SUBSCRIBER_TOO_SLOW with `data: null` and its last position, then completes); or errors without
 * data (not even null) and without a position (the subgraph refused the subscription; graphql-ws
 * sends them as a `next`, then `complete`).
 */
function interruptionOf(result: ExecutionResult, position: StreamPosition | undefined): readonly unknown[] | undefined {
  const errors = result.errors;
  if (!errors?.length) return undefined;
  if (codesOf(errors).some((code) => RECOVERABLE_CODES.has(code))) return errors;
  return !position && !('data' in result) ? errors : undefined;
}

/**
 * What to do about a failure: graphql-ws rejects with the subgraph's GraphQL errors (an array),
 * or with the socket's close event; the upstream queue throws UpstreamBacklogFull; anything else
 * (a handshake that timed out, a refused connection) is a lost socket.
 */
function classify(failure: unknown, resumable: boolean, serviceName: string): Verdict {
  const codes = Array.isArray(failure) ? codesOf(failure) : [];
  if (failure instanceof UpstreamBacklogFull || codes.some((code) => LOSSY_CODES.has(code)))
    return resumable ? { kind: 'retry' } : { kind: 'lost' };
  if (Array.isArray(failure))
    return codes.some((code) => RECOVERABLE_CODES.has(code))
      ? { kind: 'retry' }
      : { kind: 'failed', error: subgraphError(failure, serviceName) };
  const closeCode = (failure as { code?: unknown } | null)?.code;
  if (typeof closeCode === 'number' && FATAL_CLOSE_CODES.has(closeCode)) {
    const reason = (failure as { reason?: unknown }).reason;
    return {
      kind: 'failed',
      error: unavailable(serviceName, `the subgraph closed it with code ${closeCode}${reason ? ` (${String(reason)})` : ''}`, {
        closeCode,
      }),
    };
  }
  return { kind: 'retry' };
}

function describe(failure: unknown): string {
  if (failure instanceof Error) return failure.message;
  const { code, reason } = (failure ?? {}) as { code?: unknown; reason?: unknown };
  return reason ? String(reason) : `socket closed (${typeof code === 'number' ? code : 'unknown'})`;
}

function unavailable(serviceName: string, why: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(`the upstream subscription to subgraph "${serviceName}" failed: ${why}`, {
    extensions: { ...extensions, code: ErrorCode.SUBGRAPH_UNAVAILABLE, serviceName },
  });
}

/** The subgraph's first error, its message, path and code kept (INTERNAL_SERVER_ERROR when it has none), naming the subgraph. */
function subgraphError(errors: unknown[], serviceName: string): GraphQLError {
  const first = errors[0] as { message?: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> } | undefined;
  return new GraphQLError(first?.message ?? 'the upstream subscription failed', {
    path: first?.path,
    extensions: {
      ...first?.extensions,
      code: first?.extensions?.['code'] ?? ErrorCode.INTERNAL_SERVER_ERROR,
      serviceName: first?.extensions?.['serviceName'] ?? serviceName,
    },
  });
}
