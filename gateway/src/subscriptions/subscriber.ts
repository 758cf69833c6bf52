/**
 * One client's view of a shared subscription: a bounded buffer between the fan-out (which never
 * waits for a client) and the client's socket (which takes results as fast as the client reads).
 * A client that falls further behind than the buffer allows is told so, with the cursor of the last
 * event it received so it can resume, and its subscription ends: memory stays bounded and the
 * others are never slowed down.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';

export class Subscriber implements AsyncIterableIterator<ExecutionResult> {
  private readonly buffer: { result: ExecutionResult; cursor: string | undefined }[] = [];
  private waiting: ((next: IteratorResult<ExecutionResult>) => void) | undefined;
  private ended = false;
  private lastDelivered: string | undefined;

  private readonly capacity: number;
  /** Called once when the subscriber is done, whoever ended it. */
  private readonly onEnd: (subscriber: Subscriber) => void;

  constructor(
    capacity: number,
    /** Called once when the subscriber is done, whoever ended it. */
    onEnd: (subscriber: Subscriber) => void,
    /** Where this subscriber starts: what it resumes from if it falls behind before its first event. */
    startCursor?: string,
  ) {
    this.capacity = capacity;
    this.onEnd = onEnd;
    this.lastDelivered = startCursor;
  }

  /** Offers a result; never blocks. Overflow ends the subscription with SUBSCRIBER_TOO_SLOW. */
  offer(result: ExecutionResult, cursor: string | undefined): void {
    if (this.ended) return;
    if (this.waiting) {
      this.lastDelivered = cursor ?? this.lastDelivered;
      this.takeWaiter()({ value: result, done: false });
      return;
    }
    if (this.buffer.length >= this.capacity) {
      this.fallBehind();
      return;
    }
    this.buffer.push({ result, cursor });
  }

  /** Ends the subscription with SUBSCRIBER_TOO_SLOW, naming the last cursor delivered, dropping what waits. */
  fallBehind(): void {
    if (this.ended) return;
    this.buffer.length = 0;
    const result = this.tooSlow();
    if (this.waiting) this.takeWaiter()({ value: result, done: false });
    else this.buffer.push({ result, cursor: undefined });
    this.finish();
  }

  /** Ends the subscription after what is buffered, optionally with a last (error) result. */
  close(last?: ExecutionResult): void {
    if (this.ended) return;
    if (last) this.offer(last, undefined);
    this.finish();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    const item = this.buffer.shift();
    if (item) {
      this.lastDelivered = item.cursor ?? this.lastDelivered;
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

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiting && this.buffer.length === 0) this.takeWaiter()({ value: undefined, done: true });
    this.onEnd(this);
  }

  private takeWaiter() {
    const waiting = this.waiting!;
    this.waiting = undefined;
    return waiting;
  }

  private tooSlow(): ExecutionResult {
    const resume = this.lastDelivered ? `; resume with after: "${this.lastDelivered}"` : '';
    return {
      errors: [
        new GraphQLError(`subscriber fell more than ${this.capacity} events behind; subscription ended${resume}`, {
          extensions: { code: ErrorCode.SUBSCRIBER_TOO_SLOW, lastDeliveredCursor: this.lastDelivered ?? null },
        }),
      ],
    };
  }
}
