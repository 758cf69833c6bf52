/**
 * A subscription shared by every client that sent the same operation (but for where it resumes),
 * variables and identity: one upstream stream, one resolution of each event across the subgraphs,
 * and the result offered to every subscriber. Events are resolved concurrently (bounded) but
 * delivered in the order the upstream sent them.
 *
 * For a `@resumable` field it keeps the newest position it delivered (events and checkpoints, in
 * order), reopens the upstream from it after any interruption (stream.ts), and gives a client that
 * resumes a private bounded replay from its position up to the shared position at its join, followed
 * by the shared results from there: no gap, no duplicate, one upstream stream however many resume.
 * A client whose replay ends elsewhere than that position (it was ahead of the shared stream) is
 * served its own live stream from where the replay ended instead.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/logger.ts';
import type { StreamLag, StreamPosition, StreamStatus } from '../../../lib/resumable.ts';
import { OrderedPipeline } from './pipeline.ts';
import { ResumableStream, type Clock, type OpenStream, type RecoveryPolicy, type StreamEnd } from './stream.ts';
import { Subscriber, type EventBudget } from './subscriber.ts';

/** Events being resolved at once per stream. */
const MAX_IN_FLIGHT = 32;

export interface SharedOptions {
  key: string;
  /** Opens an upstream subscription of this operation, starting where `resume` says. */
  open: OpenStream;
  /** The field's resume argument when it is `@resumable`; undefined for a stream without positions. */
  resumeArgument: string | undefined;
  /** Resolves an upstream event (data and errors; no checkpoints) into the client's result. */
  resolve: (event: ExecutionResult) => Promise<ExecutionResult>;
  subscriberCapacity: number;
  /** Records the source may be behind its log before results say PROJECTION_BEHIND (a few in flight are normal). */
  lagThresholdEvents: number;
  policy: RecoveryPolicy;
  clock: Clock;
  log: Logger;
  /** The owning subgraph, named in errors. */
  serviceName: string;
  /** Called once when the last subscriber left or the upstream ended. */
  onClose: (key: string) => void;
}

export interface JoinOptions {
  /** The position the client resumes after (its resume argument); it then gets a private replay first. */
  after?: string | undefined;
  /** The client asked for status-only results. */
  status?: boolean | undefined;
  /** The client's event budget, charged as its results are delivered. */
  budget?: EventBudget | undefined;
  /** Called once the client's private replay ended or merged into the shared stream (at once when it needs none). */
  replayEnded?: (() => void) | undefined;
}

/** What the delivery loop hands out, in upstream order. */
type Delivery =
  | { result: ExecutionResult | undefined; stream: StreamPosition | undefined; reconnecting?: undefined }
  | { reconnecting: boolean; result?: undefined; stream?: undefined };

export class SharedSubscription {
  private readonly subscribers = new Set<Subscriber>();
  private closed = false;
  /** The newest position delivered: where a client that joins now stands. */
  private position: string | undefined;
  private readonly positionWaiters: (() => void)[] = [];
  private reconnecting = false;
  private sourceLag: StreamLag | undefined;
  private readonly live: ResumableStream;
  private readonly replays = new Set<ResumableStream>();

  private options: SharedOptions;

  constructor(options: SharedOptions) {
    this.options = options;
    this.live = this.stream(undefined);
    const pipeline = this.pipeline((delivery) => this.deliver(delivery));
    void this.live
      .run({
        message: (result, stream) => pipeline.push(this.prepare(result, stream)),
        // In delivery order: results taken before the interruption come first.
        interrupted: () => pipeline.push(Promise.resolve({ reconnecting: true })),
        recovered: () => pipeline.push(Promise.resolve({ reconnecting: false })),
        unbounded: () => {}, // a live stream has no until
      })
      .then(async (end) => {
        await pipeline.drained();
        this.end(end);
      })
      .catch((err: unknown) => this.end({ kind: 'failed', error: internalError(err) }));
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** The stream's status as clients see it (schema/resumable.md). */
  get status(): StreamStatus {
    if (this.reconnecting) return { lagging: true, reason: 'RECONNECTING' };
    const lag = this.sourceLag;
    if (lag?.stale) return { lagging: true, reason: 'EVENT_LOG_UNREACHABLE', behindEvents: lag.events ?? undefined };
    if (lag?.events && lag.events >= this.options.lagThresholdEvents)
      return { lagging: true, reason: 'PROJECTION_BEHIND', behindEvents: lag.events };
    return { lagging: false };
  }

  join(options: JoinOptions = {}): Subscriber {
    const resumeArgument = this.options.resumeArgument;
    const replay = options.after !== undefined && resumeArgument !== undefined;
    const subscriber = new Subscriber({
      capacity: this.options.subscriberCapacity,
      onEnd: (s) => this.leave(s),
      start: replay ? options.after : this.position,
      status: options.status,
      budget: options.budget,
      resumeArgument,
      clock: this.options.clock,
    });
    this.subscribers.add(subscriber);
    const replayEnded = once(options.replayEnded);
    if (replay) {
      subscriber.hold();
      // A client that leaves stops its replay: the replay no longer counts from then.
      subscriber.onceEnded(replayEnded);
      this.replay(subscriber, options.after!)
        .catch((err: unknown) => subscriber.close({ errors: [internalError(err)] }))
        .finally(replayEnded);
    } else {
      replayEnded();
      // It knows where it stands before its first event.
      if (options.status && this.position !== undefined) subscriber.statusChanged(this.status);
    }
    return subscriber;
  }

  /**
   * A new supergraph was loaded: events from now on are resolved with `resolve`. With `open`, the
   * upstream subscription itself changed (another subgraph owns the field, or it moved): every
   * stream of this subscription is reopened with it from its position, so nothing is missed or
   * repeated. Events already being resolved finish as they started.
   */
  replan(resolve: SharedOptions['resolve'], open?: OpenStream): void {
    this.options = { ...this.options, resolve, ...(open && { open }) };
    if (!open) return;
    this.live.reopen();
    for (const replay of this.replays) replay.reopen();
  }

  /** Ends every subscriber with this error and releases the upstream. */
  fail(error: GraphQLError): void {
    this.end({ kind: 'failed', error });
  }

  /** Ends every subscriber (gateway shutdown) and releases the upstream. */
  close(): void {
    for (const subscriber of [...this.subscribers]) subscriber.close();
    this.release();
  }

  private stream(replay: { after: string; until: string } | undefined): ResumableStream {
    const { resumeArgument, policy, clock, log, serviceName } = this.options;
    const resumable = resumeArgument !== undefined;
    return new ResumableStream({
      // The current plan's, each time it (re)opens (`replan`).
      open: (resume) => this.options.open(resume),
      resumable,
      start: replay ?? (resumable ? { after: null } : undefined),
      policy,
      clock,
      log,
      serviceName,
    });
  }

  private pipeline(deliver: (delivery: Delivery) => void): OrderedPipeline<Delivery> {
    return new OrderedPipeline(deliver, MAX_IN_FLIGHT, (err) => this.options.log.error({ err }, 'subscription delivery failed'));
  }

  /** Starts resolving an event (a checkpoint needs none); never rejects. */
  private async prepare(result: ExecutionResult, stream: StreamPosition | undefined): Promise<Delivery> {
    if (stream?.checkpoint) return { result: undefined, stream };
    try {
      return { result: await this.options.resolve(result), stream };
    } catch (err) {
      // The event still happened: its position advances the stream like any other.
      return { result: { errors: [internalError(err)] }, stream };
    }
  }

  private deliver({ result, stream, reconnecting }: Delivery): void {
    const before = this.status;
    if (reconnecting !== undefined) this.reconnecting = reconnecting;
    if (stream) {
      this.position = stream.position;
      if (stream.lag) this.sourceLag = stream.lag;
      for (const wake of this.positionWaiters.splice(0)) wake();
    }
    const status = this.status;
    for (const subscriber of this.subscribers) {
      if (result) subscriber.offer(result, stream?.position, status);
      else if (stream) subscriber.advance(stream.position, status);
      if (changed(before, status)) subscriber.statusChanged(status);
    }
  }

  /**
   * A resuming client's private replay: from its position up to the shared stream's position at
   * its join (waiting for the stream's start checkpoint when it has none yet), each event resolved;
   * then the shared results held back since the join. When the replay's final position is not
   * `until` (the client was ahead of the shared stream somewhere), the held results are dropped and
   * the replay goes on as the client's private live stream (schema/resumable.md, "Recovery").
   */
  private async replay(subscriber: Subscriber, after: string): Promise<void> {
    if (this.position === undefined) await new Promise<void>((resolve) => this.positionWaiters.push(resolve));
    const until = this.position;
    if (subscriber.done || until === undefined) return;
    if (until === after) return subscriber.release();
    const stream = this.stream({ after, until });
    this.replays.add(stream);
    subscriber.onceEnded(() => stream.stop());
    const pipeline = this.pipeline(({ result, stream: at }) => {
      if (result) subscriber.offerReplay(result, at?.position);
      else if (at) subscriber.advanceReplay(at.position, this.status);
    });
    let detached = false;
    const end = await stream.run({
      // Paced by the client: an event is taken once the client has room for it (checkpoints take
      // none). Meanwhile the upstream's own backlog bound applies, and an overflow there reopens
      // the replay from its position.
      message: async (result, at) => {
        if (!at?.checkpoint) await subscriber.room();
        await pipeline.push(this.prepare(result, at));
      },
      // Not reopened before the client has room: a client that stopped reading would otherwise
      // have its replay reopened and overflow again and again.
      interrupted: () => subscriber.whenRoom(),
      recovered: () => {},
      unbounded: () => {
        detached = true;
        subscriber.detach();
      },
    });
    await pipeline.drained();
    this.replays.delete(stream);
    if (end.kind === 'complete') {
      if (detached) subscriber.close();
      else subscriber.release();
    } else if (end.kind === 'failed') subscriber.close({ errors: [end.error] });
    else if (end.kind === 'lost') subscriber.fallBehind();
  }

  private end(end: StreamEnd): void {
    if (end.kind === 'failed') this.options.log.warn({ err: end.error, key: this.options.key }, 'upstream subscription failed');
    for (const subscriber of [...this.subscribers]) {
      if (end.kind === 'failed') subscriber.close({ errors: [end.error] });
      else if (end.kind === 'lost') subscriber.fallBehind();
      else subscriber.close();
    }
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
    this.live.stop();
    for (const replay of this.replays) replay.stop();
    for (const wake of this.positionWaiters.splice(0)) wake();
  }
}

/** `fn` to be called at most once (none: nothing). */
function once(fn: (() => void) | undefined): () => void {
  let called = false;
  return () => {
    if (called || !fn) return;
    called = true;
    fn();
  };
}

const changed = (a: StreamStatus, b: StreamStatus): boolean => a.lagging !== b.lagging || a.reason !== b.reason;

function internalError(err: unknown): GraphQLError {
  return new GraphQLError(`could not resolve a subscription event: ${err instanceof Error ? err.message : String(err)}`, {
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  });
}
