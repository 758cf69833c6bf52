/**
 * Work that completes out of order, delivered in order: items are pushed as promises (an event
 * being resolved), at most `maxInFlight` at once, and handed to `deliver` in the order pushed, one
 * per event-loop turn so that every reader that keeps up takes each result before the next comes.
 */
export class OrderedPipeline<T> {
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private readonly roomWaiters: (() => void)[] = [];

  private readonly deliver: (item: T) => void;
  private readonly maxInFlight: number;
  private readonly yieldTurn: () => Promise<void>;

  constructor(
    /** Called once per item, in push order; an exception it throws is passed to `onError`, and delivery goes on. */
    deliver: (item: T) => void,
    maxInFlight: number,
    onError: (err: unknown) => void,
    yieldTurn: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
  ) {
    this.deliver = (item) => {
      try {
        deliver(item);
      } catch (err) {
        onError(err);
      }
    };
    this.maxInFlight = maxInFlight;
    this.yieldTurn = yieldTurn;
  }

  /** Adds an item; `item` must not reject. Resolves once there is room for the next one (back-pressure). */
  async push(item: Promise<T>): Promise<void> {
    this.inFlight++;
    this.tail = this.tail.then(async () => {
      this.deliver(await item);
      this.inFlight--;
      this.roomWaiters.shift()?.();
      await this.yieldTurn();
    });
    while (this.inFlight >= this.maxInFlight) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /** Resolves once every item pushed so far has been delivered. */
  drained(): Promise<void> {
    return this.tail;
  }
}
