/**
 * A subscription shared by every client that sent the same operation with the same variables and
 * identity: one upstream subscription, one resolution of each event across the subgraphs, and the
 * result offered to every subscriber. Events are resolved concurrently (bounded) but delivered in
 * the order the upstream sent them.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/logger.ts';
import type { EventResolution } from './resolve-event.ts';
import { Subscriber } from './subscriber.ts';
import { UpstreamBacklogFull } from './upstream.ts';

/** Events being resolved at once per shared subscription. */
const MAX_IN_FLIGHT = 32;

export interface SharedOptions {
  key: string;
  /**
   * Opens the upstream subscription; `after` is set when the gateway reopens it after the socket
   * dropped and the subscription can resume from a cursor (then no event is lost or repeated).
   */
  openUpstream: (after: string | undefined) => AsyncIterableIterator<ExecutionResult>;
  /** Whether the upstream can be reopened from a cursor (else it is reopened live). */
  resumable: boolean;
  /** The cursor of a raw upstream event, if it carries one. */
  cursorOf: (event: ExecutionResult) => string | undefined;
  /** Times the upstream is reopened after its socket dropped, before subscribers get an error. */
  reopenAttempts: number;
  resolve: (event: ExecutionResult) => Promise<EventResolution>;
  subscriberCapacity: number;
  /** The cursor the subscription starts after (its `after` argument), if any. */
  startCursor: string | undefined;
  log: Logger;
  /** Called once when the last subscriber left or the upstream ended. */
  onClose: (key: string) => void;
}

export class SharedSubscription {
  private readonly subscribers = new Set<Subscriber>();
  private closed = false;
  /** The cursor of the last event handed out: where a subscriber that joins now starts. */
  private lastCursor: string | undefined;
  private upstream: AsyncIterableIterator<ExecutionResult>;

  private readonly options: SharedOptions;

  constructor(options: SharedOptions) {
    this.options = options;
    this.lastCursor = options.startCursor;
    this.upstream = options.openUpstream(undefined);
    void this.pump();
  }

  get size(): number {
    return this.subscribers.size;
  }

  join(): Subscriber {
    const subscriber = new Subscriber(this.options.subscriberCapacity, (s) => this.leave(s), this.lastCursor);
    this.subscribers.add(subscriber);
    return subscriber;
  }

  /** Ends every subscriber (gateway shutdown) and releases the upstream. */
  close(): void {
    for (const subscriber of [...this.subscribers]) subscriber.close();
    this.release();
  }

  private leave(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) this.release();
  }

  private release(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onClose(this.options.key);
    void this.upstream.return?.();
  }

  /**
   * Two loops: the first takes upstream events and starts resolving them (at most MAX_IN_FLIGHT
   * resolving or waiting to be delivered); the second hands resolved results to the subscribers in
   * upstream order, one per event-loop turn, so every reader that keeps up gets to take each result
   * before the next arrives (a burst must not overflow a reader that is not behind).
   */
  private async pump(): Promise<void> {
    const queue: Promise<EventResolution>[] = [];
    let upstreamDone = false;
    let wakeDelivery: (() => void) | undefined;
    let wakeIntake: (() => void) | undefined;
    const delivery = (async () => {
      for (;;) {
        const next = queue[0];
        if (!next) {
          if (upstreamDone) return;
          await new Promise<void>((resolve) => (wakeDelivery = resolve));
          continue;
        }
        const { result, cursor } = await next;
        void queue.shift(); // `next`, settled
        wakeIntake?.();
        this.lastCursor = cursor ?? this.lastCursor;
        for (const subscriber of this.subscribers) subscriber.offer(result, cursor);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
    let failure: unknown;
    // Where the events taken from upstream so far end: the point to reopen it from.
    let takenThrough = this.options.startCursor;
    // Consecutive reopenings without an event in between (an upstream that works again resets it).
    let reopened = 0;
    for (;;) {
      failure = undefined;
      try {
        for await (const event of this.upstream) {
          if (this.closed) break;
          reopened = 0;
          takenThrough = this.options.cursorOf(event) ?? takenThrough;
          queue.push(
            this.options.resolve(event).catch((err: unknown) => ({ result: { errors: [internalError(err)] }, cursor: undefined })),
          );
          wakeDelivery?.();
          while (queue.length >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => (wakeIntake = resolve));
        }
      } catch (err) {
        failure = err;
      }
      // The socket dropped (not a GraphQL error, not the gateway's own backlog): reopen it, from
      // the last cursor taken when the subscription can resume, so nothing is lost or repeated.
      const dropped = failure !== undefined && !Array.isArray(failure) && !(failure instanceof UpstreamBacklogFull);
      if (!dropped || this.closed || reopened >= this.options.reopenAttempts) break;
      const after = this.options.resumable ? takenThrough : undefined;
      this.options.log.warn({ key: this.options.key, attempt: reopened + 1, after }, 'upstream subscription dropped; reopening it');
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** reopened) * (0.5 + Math.random() / 2)));
      if (this.closed) break;
      reopened++;
      this.upstream = this.options.openUpstream(after);
    }
    upstreamDone = true;
    wakeDelivery?.();
    await delivery;
    if (failure === undefined) {
      for (const subscriber of [...this.subscribers]) subscriber.close();
    } else {
      this.options.log.warn({ err: failure, key: this.options.key }, 'upstream subscription failed');
      if (failure instanceof UpstreamBacklogFull) {
        // The gateway itself fell behind: every subscriber resumes from its own last cursor.
        for (const subscriber of [...this.subscribers]) subscriber.fallBehind();
      } else {
        const error = upstreamError(failure);
        for (const subscriber of [...this.subscribers]) subscriber.close({ errors: [error] });
      }
    }
    this.release();
  }
}

function internalError(err: unknown): GraphQLError {
  return new GraphQLError(`could not resolve a subscription event: ${err instanceof Error ? err.message : String(err)}`, {
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  });
}

/** graphql-ws rejects with the subgraph's GraphQL errors, or with a close event when the socket failed. */
function upstreamError(err: unknown): GraphQLError {
  if (Array.isArray(err) && err[0]?.message) {
    const first = err[0] as { message: string; extensions?: Record<string, unknown> };
    return new GraphQLError(first.message, {
      extensions: { ...first.extensions, code: first.extensions?.['code'] ?? ErrorCode.INTERNAL_SERVER_ERROR },
    });
  }
  const reason =
    err instanceof Error
      ? err.message
      : (err as { reason?: string; code?: number })?.reason || `socket closed (${(err as { code?: number })?.code ?? 'unknown'})`;
  return new GraphQLError(`the upstream subscription failed: ${reason}`, { extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE } });
}
