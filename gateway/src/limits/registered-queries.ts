/**
 * The queries automatic persisted queries (APQ) registered, as admission saw them: a request that
 * sends only a hash is admitted again with its own variables and `operationName`, on the query the
 * hash names, so a hash cannot run what its registration did not (a cheap registration then a huge
 * `first`, or another operation of the same document). Apollo Server keeps its own copy and runs
 * the hash; this one is what admission trusts, so a hash it no longer holds is answered
 * PERSISTED_QUERY_NOT_FOUND (the client sends the query again) whatever Apollo Server still holds.
 */
import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { sha256 } from './trusted-documents.ts';

/** As Apollo Server's default APQ cache: about 30 MB of query text, the least recently used going first. */
const MAX_BYTES = 30 * 2 ** 20;

/** Apollo Server's answer to a hash it does not hold (over HTTP: status 200, not cached), which makes a client register the query. */
export class PersistedQueryNotFound extends GraphQLError {
  constructor() {
    super('PersistedQueryNotFound', { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
  }
}

export class RegisteredQueries {
  private readonly queries = new LRUCache<string, string>({
    maxSize: MAX_BYTES,
    sizeCalculation: (query, hash) => query.length + hash.length,
  });

  /** The query registered under `hash`; throws PersistedQueryNotFound when there is none. */
  query(hash: string): string {
    const query = this.queries.get(hash);
    if (query === undefined) throw new PersistedQueryNotFound();
    return query;
  }

  /** Registers an admitted `query` under `hash`, as Apollo Server does, when the hash is the query's. */
  register(hash: string, query: string): void {
    if (sha256(query) === hash && query.length <= MAX_BYTES) this.queries.set(hash, query);
  }
}
