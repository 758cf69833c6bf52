/** Open things counted per key against a maximum: upstream subscriptions per client. */
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

/** Which maximum of a `CappedCounts` refused: the key's own, or the total of all keys. */
export interface CountRefusal {
  full: 'key' | 'total';
  max: number;
}

/** Open things counted per key against a maximum, and all together against a ceiling: SSE streams and reservations, WebSockets. */
export class CappedCounts {
  private readonly perKey: KeyedCounts;
  private readonly total: KeyedCounts;

  constructor(maxPerKey: number, maxTotal: number) {
    this.perKey = new KeyedCounts(maxPerKey);
    this.total = new KeyedCounts(maxTotal);
  }

  /** One more for `key`: its release (idempotent), or which maximum is reached (the total's first). */
  acquire(key: string): (() => void) | CountRefusal {
    const total = this.total.acquire('');
    if (!total) return { full: 'total', max: this.total.max };
    const own = this.perKey.acquire(key);
    if (!own) {
      total();
      return { full: 'key', max: this.perKey.max };
    }
    return () => {
      own();
      total();
    };
  }

  /** Open now for `key`. */
  of(key: string): number {
    return this.perKey.of(key);
  }
}
