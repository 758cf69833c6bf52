/**
 * Deterministic stand-ins for the edges of the gateway's subscription core: an upstream whose
 * streams a test drives message by message (events, checkpoints, failures), and a clock whose
 * sleeps return at once (recording how long they asked for) and move time forward by as much.
 */
import type { ExecutionResult } from 'graphql';
import { RESUMABLE_EXTENSION, type ResumeRequest, type StreamLag } from '../../lib/resumable.ts';
import { waitFor, withTimeout } from './wait.ts';

/** One upstream subscription the code under test opened. */
export class FakeStream {
  /** Set once the code under test released it (`return()`). */
  released = false;
  private readonly queue: ({ result: ExecutionResult } | { failure: unknown } | { complete: true })[] = [];
  private wake: (() => void) | undefined;

  /** Messages sent (or failures) the code under test has not taken yet. */
  get unread(): number {
    return this.queue.length;
  }

  readonly resume: ResumeRequest | undefined;
  readonly request: Record<string, unknown>;

  constructor(resume: ResumeRequest | undefined, request: Record<string, unknown> = {}) {
    this.resume = resume;
    this.request = request;
  }

  /** An event with `data`, at `position` (none for a stream without positions). */
  event(data: Record<string, unknown>, position?: string, extra: Omit<ExecutionResult, 'data'> = {}): this {
    return this.send({ ...extra, data, ...(position !== undefined && { extensions: { [RESUMABLE_EXTENSION]: { position } } }) });
  }

  /** A checkpoint at `position`. */
  checkpoint(position: string, lag?: StreamLag): this {
    return this.send({ extensions: { [RESUMABLE_EXTENSION]: { position, checkpoint: true, ...(lag && { lag }) } } });
  }

  /**
   * Ends the stream as the orders subgraph does when it ends a subscriber (SUBSCRIBER_TOO_SLOW,
   * subgraphs/orders/stream.ts through kit/resumable.ts): a result with `data: null`, the error at
   * the field's path, and the last position delivered; then `complete`.
   */
  endWithError(code: string, position: string, field = 'orderEvents'): this {
    const error = { message: `ended (${code})`, path: [field], extensions: { lastDeliveredCursor: position, bufferEvents: 10, code } };
    return this.send({ data: null, errors: [error], extensions: { [RESUMABLE_EXTENSION]: { position } } } as never).complete();
  }

  send(result: ExecutionResult): this {
    return this.enqueue({ result });
  }

  /** Fails the stream as graphql-ws would: a close event `{ code, reason }`, GraphQL errors (an array), an Error. */
  fail(failure: unknown): this {
    return this.enqueue({ failure });
  }

  complete(): this {
    return this.enqueue({ complete: true });
  }

  iterator(): AsyncIterableIterator<ExecutionResult> {
    const iterator: AsyncIterableIterator<ExecutionResult> = {
      next: async () => {
        for (;;) {
          if (this.released) return { value: undefined, done: true };
          const item = this.queue.shift();
          if (item && 'result' in item) return { value: item.result, done: false };
          if (item && 'failure' in item) throw item.failure;
          if (item) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      },
      return: async () => {
        this.released = true;
        this.wake?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private enqueue(item: FakeStream['queue'][number]): this {
    this.queue.push(item);
    this.wake?.();
    this.wake = undefined;
    return this;
  }
}

/** Every upstream subscription opened, in order. */
export class FakeUpstream {
  readonly streams: FakeStream[] = [];

  readonly open = (resume: ResumeRequest | undefined, request?: Record<string, unknown>): AsyncIterableIterator<ExecutionResult> => {
    const stream = new FakeStream(resume, request);
    this.streams.push(stream);
    return stream.iterator();
  };

  /** Waits until the `n`-th (from 1) stream is open and returns it. */
  async opened(n: number): Promise<FakeStream> {
    await waitFor(() => this.streams.length >= n, 5_000, `upstream stream ${n} was never opened (${this.streams.length} were)`, 1);
    return this.streams[n - 1]!;
  }
}

/** A clock that never waits: each sleep is recorded and moves `now` forward by its length; timers fire when `advance` passes them. */
export class FakeClock {
  time = 0;
  readonly sleeps: number[] = [];
  private timers: { at: number; fn: () => void }[] = [];

  setTimer = (ms: number, fn: () => void): (() => void) => {
    const timer = { at: this.time + ms, fn };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((t) => t !== timer));
  };

  /** Moves time forward by `ms`, firing the timers due by then, in order. */
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const timer of due) timer.fn();
  }

  now = (): number => this.time;
  random = (): number => 0.5;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.advance(ms);
    await Promise.resolve();
  };
}

/** Reads `n` results from a subscription, each within a deadline. */
export async function take(iterator: AsyncIterator<ExecutionResult>, n: number): Promise<ExecutionResult[]> {
  const results: ExecutionResult[] = [];
  for (let i = 0; i < n; i++) {
    const next = await withTimeout(iterator.next(), 5_000, `result ${i + 1} of ${n} never came`);
    if (next.done) throw new Error(`the subscription ended after ${i} of ${n} results: ${JSON.stringify(results)}`);
    results.push(next.value);
  }
  return results;
}

/** Asserts-friendly: resolves with whether the subscription has ended (its next read says done), within a deadline. */
export async function ended(iterator: AsyncIterator<ExecutionResult>): Promise<boolean> {
  return (await withTimeout(iterator.next(), 5_000, 'the subscription neither ended nor gave a result')).done === true;
}
