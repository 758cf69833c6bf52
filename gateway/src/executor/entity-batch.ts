/**
 * Entity fetches that arrive together, batched: `_entities` requests for one subgraph with the same
 * selection (the same document but for its operation name), the same other variables and the same
 * caller, asked for in the same turn of the event loop, go as one request whose representations are
 * the distinct ones of them all. Each asker gets the answer it would have had alone: its entities in
 * its order, the errors of its entities at its own indexes, and the request's errors.
 *
 * This is how the events of subscriptions are resolved: the events that arrive together (one event
 * delivered to many distinct subscriptions, or a burst of events) cost one `_entities` call per
 * subgraph, and an entity several of them need is fetched once.
 */
import DataLoader from 'dataloader';
import type { SubgraphAnswer, SubgraphError } from './execute-plan.ts';

type Data = Record<string, unknown>;

/** What one representation of a batch got. */
interface Slot {
  /** The request had no `_entities` to give (no data, or data of the wrong shape). */
  none: boolean;
  entity: unknown;
  /** Errors at this entity (paths after `_entities.<index>`). */
  errors: SubgraphError[];
  /** Errors of the whole request (one array shared by every slot of the batch). */
  requestErrors: readonly SubgraphError[];
  /** The answer when it is not an `_entities` list: passed on whole. */
  odd: SubgraphAnswer | undefined;
}

/** Representations in one request at most (a larger batch is sent as several). */
const MAX_BATCH = 1_000;

export interface EntityRequest {
  query: string;
  operationName?: string | undefined;
  variables: Record<string, unknown>;
}

export class EntityBatcher<Caller> {
  private readonly send: (request: EntityRequest, caller: Caller) => Promise<SubgraphAnswer>;
  private readonly loaders = new Map<string, DataLoader<Data, Slot>>();

  /** `send` sends one request for a caller. */
  constructor(send: (request: EntityRequest, caller: Caller) => Promise<SubgraphAnswer>) {
    this.send = send;
  }

  /**
   * Sends an `_entities` request, batched with the others of the same key asked for in this turn;
   * `callerKey` identifies the caller (only the same caller's requests are batched together).
   */
  async load(request: EntityRequest, caller: Caller, callerKey: string): Promise<SubgraphAnswer> {
    const { representations, ...rest } = request.variables;
    if (!Array.isArray(representations)) return this.send(request, caller);
    const key = `${withoutName(request.query, request.operationName)}\u0000${JSON.stringify(rest)}\u0000${callerKey}`;
    let loader = this.loaders.get(key);
    if (!loader) {
      const created: DataLoader<Data, Slot> = new DataLoader<Data, Slot>(
        (batch) => {
          // Later askers start a new batch.
          if (this.loaders.get(key) === created) this.loaders.delete(key);
          return this.dispatch(request, caller, rest, batch);
        },
        { cache: false, maxBatchSize: MAX_BATCH, batchScheduleFn: (run) => setImmediate(run) },
      );
      this.loaders.set(key, created);
      loader = created;
    }
    const slots = await Promise.all((representations as Data[]).map((r) => loader.load(r)));
    return assemble(slots);
  }

  private async dispatch(first: EntityRequest, caller: Caller, rest: Record<string, unknown>, batch: readonly Data[]): Promise<Slot[]> {
    const distinct: Data[] = [];
    const indexOf = new Map<string, number>();
    const positions = batch.map((representation) => {
      const k = JSON.stringify(representation);
      let at = indexOf.get(k);
      if (at === undefined) {
        at = distinct.length;
        indexOf.set(k, at);
        distinct.push(representation);
      }
      return at;
    });
    const answer = await this.send({ ...first, variables: { ...rest, representations: distinct } }, caller);
    const list = answer.data?.['_entities'];
    const requestErrors: SubgraphError[] = [];
    const entityErrors = new Map<number, SubgraphError[]>();
    for (const error of answer.errors ?? []) {
      const at = error.path?.[1];
      if (error.path?.[0] === '_entities' && typeof at === 'number') {
        const list = entityErrors.get(at) ?? [];
        list.push(error);
        entityErrors.set(at, list);
      } else {
        requestErrors.push(error);
      }
    }
    const odd = answer.data && !(Array.isArray(list) && list.length === distinct.length) ? answer : undefined;
    return positions.map((at) => ({
      none: !Array.isArray(list),
      entity: Array.isArray(list) ? list[at] : undefined,
      errors: entityErrors.get(at) ?? [],
      requestErrors,
      odd,
    }));
  }
}

/** One asker's answer from its slots: its entities, its entities' errors at its own indexes, the request's errors once. */
function assemble(slots: Slot[]): SubgraphAnswer {
  const [first] = slots;
  if (!first) return { data: { _entities: [] } };
  // A malformed answer goes to each asker as it came: the executor reports it as it would alone.
  if (first.odd) return first.odd;
  const errors: SubgraphError[] = [...first.requestErrors];
  slots.forEach((slot, i) => {
    for (const error of slot.errors) errors.push({ ...error, path: ['_entities', i, ...(error.path ?? []).slice(2)] });
  });
  // Each asker gets its own objects: merging writes into them.
  const data = first.none ? undefined : { _entities: structuredClone(slots.map((s) => s.entity)) };
  return { ...(data && { data }), ...(errors.length > 0 && { errors }) };
}

/** A document without its operation name (fetches of distinct client operations differ only there). */
export function withoutName(query: string, operationName: string | undefined): string {
  return operationName ? query.replace(operationName, '') : query;
}
