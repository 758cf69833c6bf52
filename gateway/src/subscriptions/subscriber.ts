/**
 * One client's view of a shared subscription: a bounded buffer between the fan-out (which never
 * waits for a client) and the client's socket (which takes results as fast as the client reads).
 *
 * It knows the client's exact position: each result carries the stream's position right after it,
 * and a checkpoint moves the position of the newest result (or, with nothing waiting, the delivered
 * position). A client that falls further behind than the buffer allows is told so, with the last
 * position it was delivered, and its subscription ends: memory stays bounded and the others are
 * never slowed down.
 *
 * While a resuming client's private replay runs, the shared results it is offered are held back and
 * follow the replay (`hold` / `release`); or, when it cannot join the shared stream, they are dropped
 * and it is served by its own stream from then on (`detach`).
 *
 * A client's event budget (the edge's SUBSCRIPTION_EVENTS_PER_SECOND) is charged here, as each event
 * result is handed to its transport: a client over it gets RATE_LIMITED with the last position it
 * was delivered, and its subscription ends, as a slow one's does; the others never notice.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import { STREAM_EXTENSION, type StreamStatus } from '../../../lib/resumable.ts';
import { EdgeLimit } from '../edge/refusals.ts';
import { systemClock, type Clock } from './stream.ts';

/** A client's budget of subscription results (shared by all its subscriptions). */
export interface EventBudget {
  /** Charges one result: undefined when it is within the budget, else the ms until there is room again. */
  take(): Promise<number | undefined>;
}

/** Status-only results for a position that moved without an event: at most one per this many ms. */
export const POSITION_STATUS_INTERVAL_MS = 1_000;

export interface SubscriberOptions {
  /** Results that may wait for the client before it is cut off with SUBSCRIBER_TOO_SLOW. */
  capacity: number;
  /** Called once when the subscriber is done, whoever ended it. */
  onEnd: (subscriber: Subscriber) => void;
  /** Where it starts: what it resumes from if it falls behind before its first result. */
  start?: string | undefined;
  /** The client asked for status-only results (`extensions.stream.status`). */
  status?: boolean | undefined;
  /** The resume argument to name in SUBSCRIBER_TOO_SLOW (the field's `@resumable` argument). */
  resumeArgument?: string | undefined;
  /** Charged for every event result handed to the client; none: unlimited. */
  budget?: EventBudget | undefined;
  /** Time for the status rate limit. Default: the system's. */
  clock?: Pick<Clock, 'now' | 'setTimer'> | undefined;
}

interface Item {
  result: ExecutionResult;
  /** The client's position once it has taken this result. */
  position: string | undefined;
  statusOnly: boolean;
}

export class Subscriber implements AsyncIterableIterator<ExecutionResult> {
  private readonly buffer: Item[] = [];
  private waiting: ((next: IteratorResult<ExecutionResult>) => void) | undefined;
  private ended = false;
  private lastDelivered: string | undefined;
  /** The delivered position before the newest result was handed out: where an over-budget client resumes. */
  private deliveredBefore: string | undefined;
  /** Shared results held back while a private replay runs; undefined when not holding. */
  private held: (() => void)[] | undefined;
  private heldResults = 0;
  /** Served by its own stream: the shared stream's results, checkpoints and statuses are ignored. */
  private detached = false;
  private lastPositionStatus = -Infinity;
  /** A status-only result deferred by the rate limit: the stream's status to send it with, and its cancel. */
  private deferredStatus: { status: StreamStatus; cancel: () => void } | undefined;
  private readonly endListeners: (() => void)[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  /** Results of the client's own stream on their way (`room` resolved, `offerReplay` not called yet). */
  private reserved = 0;

  private readonly options: SubscriberOptions;
  private readonly clock: Pick<Clock, 'now' | 'setTimer'>;

  constructor(options: SubscriberOptions) {
    this.options = options;
    this.lastDelivered = options.start;
    this.clock = options.clock ?? systemClock;
  }

  get done(): boolean {
    return this.ended;
  }

  /** The position the client will be at once it has taken everything offered so far. */
  get position(): string | undefined {
    return this.buffer.at(-1)?.position ?? this.lastDelivered;
  }

  /** Calls `listener` once when the subscription ends (at once if it has). */
  onceEnded(listener: () => void): void {
    if (this.ended) listener();
    else this.endListeners.push(listener);
  }

  /**
   * Offers a shared stream's event result; never blocks. `position` is the stream's position after
   * it; `status`, when lagging, goes into the result's `extensions.stream`. Overflow ends the
   * subscription with SUBSCRIBER_TOO_SLOW.
   */
  offer(result: ExecutionResult, position: string | undefined, status?: StreamStatus): void {
    if (this.detached) return;
    if (this.held) {
      // Only the held results count: the replay in the buffer is paced by the client (`room`).
      if (++this.heldResults > this.options.capacity) return this.fallBehind();
      this.held.push(() => this.push(result, position, status, false));
    } else this.push(result, position, status, true);
  }

  /**
   * An event result of the client's own stream (its replay; never held back), for which `room`
   * was awaited: it does not count against the capacity, the room it reserved does.
   */
  offerReplay(result: ExecutionResult, position: string | undefined): void {
    if (this.reserved > 0) this.reserved--;
    if (!this.ended) this.enqueue({ result, position: position ?? this.position, statusOnly: false });
    this.wakeRoom();
  }

  /**
   * Resolves once the client has room for one more result of its own stream (results waiting and
   * reserved fewer than `capacity`), or has ended, and reserves it until `offerReplay` brings the
   * result: how a private replay is paced, so it never holds more than `capacity` results for the client.
   */
  room(): Promise<void> {
    return new Promise((resolve) => {
      this.roomWaiters.push(() => {
        this.reserved++;
        resolve();
      });
      this.wakeRoom();
    });
  }

  /** Resolves once the client has room for one more result of its own stream, or has ended, reserving nothing. */
  whenRoom(): Promise<void> {
    return new Promise((resolve) => {
      this.roomWaiters.push(resolve);
      this.wakeRoom();
    });
  }

  /** The stream's position moved without an event (a checkpoint); `status` is the stream's current one. */
  advance(position: string, status: StreamStatus): void {
    if (this.detached) return;
    if (this.held) this.held.push(() => this.advanceNow(position, status));
    else this.advanceNow(position, status);
  }

  /** A checkpoint of the private replay (or of the private live stream after it). */
  advanceReplay(position: string, status: StreamStatus): void {
    this.advanceNow(position, status);
  }

  /** The stream's lag state changed: opted-in clients get a status-only result. */
  statusChanged(status: StreamStatus): void {
    if (this.detached) return;
    if (this.held) this.held.push(() => this.pushStatus(status));
    else this.pushStatus(status);
  }

  /** Holds back shared results (a private replay starts). */
  hold(): void {
    this.held ??= [];
  }

  /** Delivers the held shared results after what was replayed, and stops holding. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    this.heldResults = 0;
    for (const deliver of held ?? []) deliver();
  }

  /**
   * Drops the held shared results and ignores the shared stream from now on: the client is served
   * by its own stream (`offerReplay`, `advanceReplay`), which went on live where its replay ended.
   */
  detach(): void {
    this.held = undefined;
    this.heldResults = 0;
    this.detached = true;
  }

  /** Ends the subscription with SUBSCRIBER_TOO_SLOW, naming the last position delivered, dropping what waits. */
  fallBehind(): void {
    if (this.ended) return;
    this.buffer.length = 0;
    this.held = undefined;
    this.enqueue({ result: this.tooSlow(), position: undefined, statusOnly: false });
    this.finish();
  }

  /** Ends the subscription after what is buffered (not what is held), optionally with a last (error) result. */
  close(last?: ExecutionResult): void {
    if (this.ended) return;
    this.held = undefined;
    if (last) this.enqueue({ result: last, position: undefined, statusOnly: false });
    this.finish();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    const budget = this.options.budget;
    const next = this.take();
    return budget ? next.then((taken) => this.charge(taken, budget)) : next;
  }

  private take(): Promise<IteratorResult<ExecutionResult>> {
    const item = this.buffer.shift();
    this.wakeRoom();
    if (item) {
      this.deliver(item.position);
      return Promise.resolve({ value: item.result, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The client completed the subscription or went away. */
  return(): Promise<IteratorResult<ExecutionResult>> {
    this.buffer.length = 0;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Some transports (graphql-sse) end an iterator through `throw`: the same as `return`. */
  throw(): Promise<IteratorResult<ExecutionResult>> {
    return this.return();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** `bounded`: overflow cuts the client off; held results were counted when they were held. */
  private push(result: ExecutionResult, position: string | undefined, status: StreamStatus | undefined, bounded: boolean): void {
    if (this.ended) return;
    const at = position ?? this.position;
    const shown = status?.lagging ? withStream(result, { ...status, position: at }) : result;
    if (bounded && this.buffer.length >= this.options.capacity && !this.waiting) return this.fallBehind();
    this.enqueue({ result: shown, position: at, statusOnly: false });
  }

  private advanceNow(position: string, status: StreamStatus): void {
    if (this.ended) return;
    const last = this.buffer.at(-1);
    if (last) last.position = position;
    else this.lastDelivered = position;
    if (!this.options.status) return;
    const wait = this.lastPositionStatus + POSITION_STATUS_INTERVAL_MS - this.clock.now();
    if (wait <= 0) return this.pushStatus(status);
    // Within the rate limit: the newest position goes out when the second is over.
    if (this.deferredStatus) this.deferredStatus.status = status;
    else {
      const deferred = { status, cancel: () => {} };
      deferred.cancel = this.clock.setTimer(wait, () => this.pushStatus(deferred.status));
      this.deferredStatus = deferred;
    }
  }

  /** A status-only result (for opted-in clients); one waiting status-only result is replaced, never added to. */
  private pushStatus(status: StreamStatus): void {
    this.deferredStatus?.cancel();
    this.deferredStatus = undefined;
    if (this.ended || !this.options.status) return;
    this.lastPositionStatus = this.clock.now();
    const position = this.position;
    const item: Item = { result: withStream({}, { ...status, position }), position, statusOnly: true };
    if (this.buffer.at(-1)?.statusOnly) this.buffer[this.buffer.length - 1] = item;
    else this.enqueue(item);
  }

  private enqueue(item: Item): void {
    if (this.waiting) {
      this.deliver(item.position);
      this.takeWaiter()({ value: item.result, done: false });
    } else this.buffer.push(item);
  }

  private deliver(position: string | undefined): void {
    this.deliveredBefore = this.lastDelivered;
    this.lastDelivered = position ?? this.lastDelivered;
  }

  /**
   * An event result (data, not a status or an error) counts against the client's budget; over it,
   * the result is not delivered: the subscription ends with RATE_LIMITED instead, naming the
   * position before it.
   */
  private async charge(taken: IteratorResult<ExecutionResult>, budget: EventBudget): Promise<IteratorResult<ExecutionResult>> {
    if (taken.done || taken.value.data === null || taken.value.data === undefined || this.ended) return taken;
    const retryAfterMs = await budget.take();
    if (retryAfterMs === undefined || this.ended) return taken;
    this.lastDelivered = this.deliveredBefore;
    this.buffer.length = 0;
    this.held = undefined;
    this.finish();
    return { value: this.overBudget(retryAfterMs), done: false };
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.deferredStatus?.cancel();
    if (this.waiting && this.buffer.length === 0) this.takeWaiter()({ value: undefined, done: true });
    this.options.onEnd(this);
    for (const listener of this.endListeners.splice(0)) listener();
    this.wakeRoom();
  }

  /** Hands out the room there is, in order (everyone's, once it has ended). */
  private wakeRoom(): void {
    while (this.roomWaiters.length > 0 && (this.ended || this.buffer.length + this.reserved < this.options.capacity))
      this.roomWaiters.shift()!();
  }

  private takeWaiter() {
    const waiting = this.waiting!;
    this.waiting = undefined;
    return waiting;
  }

  private overBudget(retryAfterMs: number): ExecutionResult {
    return { errors: [overBudgetError(retryAfterMs, this.lastDelivered, this.options.resumeArgument)] };
  }

  private tooSlow(): ExecutionResult {
    const { capacity, resumeArgument } = this.options;
    const resume = this.lastDelivered !== undefined && resumeArgument ? `; resume with ${resumeArgument}: "${this.lastDelivered}"` : '';
    return {
      errors: [
        new GraphQLError(`subscriber fell more than ${capacity} events behind; subscription ended${resume}`, {
          extensions: { code: ErrorCode.SUBSCRIBER_TOO_SLOW, lastDeliveredCursor: this.lastDelivered ?? null },
        }),
      ],
    };
  }
}

/** RATE_LIMITED for a client over its event budget, like SUBSCRIBER_TOO_SLOW: where to resume, and when. */
function overBudgetError(retryAfterMs: number, lastDelivered: string | undefined, resumeArgument: string | undefined): GraphQLError {
  const resume = lastDelivered !== undefined && resumeArgument ? `; resume with ${resumeArgument}: "${lastDelivered}"` : '';
  return new GraphQLError(`subscription events over this client's rate; subscription ended${resume}`, {
    extensions: {
      code: ErrorCode.RATE_LIMITED,
      limit: EdgeLimit.SUBSCRIPTION_EVENTS,
      retryAfterMs,
      lastDeliveredCursor: lastDelivered ?? null,
    },
  });
}

function withStream(result: ExecutionResult, stream: StreamStatus): ExecutionResult {
  const clean = Object.fromEntries(Object.entries(stream).filter(([, v]) => v !== undefined)) as StreamStatus;
  return { ...result, extensions: { ...result.extensions, [STREAM_EXTENSION]: clean } };
}
