/** Open things counted per key against a maximum: WebSockets per client, upstream subscriptions per client. */
export class KeyedCounts {
  private readonly counts = new Map<string, number>();
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** One more for `key`: its release (idempotent), or undefined when `key` holds `max` already. */
  acquire(key: string): (() => void) | undefined {
    const count = this.counts.get(key) ?? 0;
    if (count >= this.max) return undefined;
    this.counts.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left === 0) this.counts.delete(key);
      else this.counts.set(key, left);
    };
  }

  /** Open now for `key`. */
  of(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
