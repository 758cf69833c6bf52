/**
 * An immutable set of records in a fixed order, read by id, by many ids, or a page at a time with
 * opaque cursors. Both example services serve their data through one of these, so REST cursors
 * and gRPC page tokens behave the same.
 */

/** A cursor this collection did not issue (or one for a record it does not hold). */
export class InvalidCursorError extends Error {
  readonly cursor: string;

  constructor(cursor: string) {
    super('not a cursor issued by this service');
    this.cursor = cursor;
    this.name = 'InvalidCursorError';
  }
}

export interface Page<T> {
  items: T[];
  /** Present when there are more records after this page. */
  nextCursor?: string;
}

// A cursor names the last record of the page it ends (keyset paging), so it stays meaningful
// even if records were inserted before it. The version prefix lets the format change later.
const cursorPrefix = 'v1:';
const encodeCursor = (lastId: string) => Buffer.from(cursorPrefix + lastId, 'utf8').toString('base64url');

export class Collection<T extends { readonly id: string }> {
  readonly #items: readonly T[];
  readonly #positions = new Map<string, number>();

  /** `items` must be in the order pages are served in, with unique ids. */
  constructor(items: readonly T[]) {
    this.#items = items;
    items.forEach((item, i) => {
      if (this.#positions.has(item.id)) throw new Error(`duplicate id ${JSON.stringify(item.id)}`);
      this.#positions.set(item.id, i);
    });
  }

  get size(): number {
    return this.#items.length;
  }

  get(id: string): T | undefined {
    const position = this.#positions.get(id);
    return position === undefined ? undefined : this.#items[position];
  }

  /** The known records among `ids`, in the order of `ids`, each once; unknown ids are left out. */
  getMany(ids: readonly string[]): T[] {
    const found: T[] = [];
    for (const id of new Set(ids)) {
      const item = this.get(id);
      if (item) found.push(item);
    }
    return found;
  }

  /** Up to `limit` records after `cursor` (from the start without one). */
  page(limit: number, cursor?: string): Page<T> {
    const start = cursor === undefined ? 0 : this.#positionAfter(cursor);
    const items = this.#items.slice(start, start + limit);
    const last = items.at(-1);
    return last && start + items.length < this.#items.length ? { items, nextCursor: encodeCursor(last.id) } : { items };
  }

  #positionAfter(cursor: string): number {
    const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
    const position = decoded.startsWith(cursorPrefix) ? this.#positions.get(decoded.slice(cursorPrefix.length)) : undefined;
    // Buffer.from ignores characters outside the alphabet: only an exact round trip is ours.
    if (position === undefined || encodeCursor(decoded.slice(cursorPrefix.length)) !== cursor) {
      throw new InvalidCursorError(cursor);
    }
    return position + 1;
  }
}
