/**
 * A projection of any topic whose events have a contract (event-schemas.ts): each record is decoded
 * and validated against its event type's schema (ajv), and the entity of its key is upserted: the
 * event's fields are merged into it, newest wins. What `interchange subgraph new --from-topic`
 * builds its subgraphs on; nothing here is generated.
 *
 * With the embedded log, nothing outside the process can publish to it: `eventInlet` is an ops
 * route (`POST /events`, on the ops listener) through which a producer of the development system,
 * or a test, publishes events to the topic, keyed by their key field as a Kafka producer would.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import express, { type Express, type RequestHandler } from 'express';
import { errorBody } from '../../../lib/client-errors.ts';
import { ErrorCode } from '../../../lib/errors.ts';
import type { EventLog } from '../../../lib/eventlog/types.ts';
import { bodyErrors } from '../../../lib/graphql-http.ts';
import type { Logger } from '../../../lib/logger.ts';
import { pageSize } from '../arguments.ts';
import type { EventContract, FieldShape, Shape } from './event-schemas.ts';
import type { Decoded } from './projector.ts';
import { ReadModel, type ReadModelOptions, type Reducer } from './read-model.ts';

/** A record of the topic, decoded: its envelope read by the contract, and the event itself. */
export interface TopicEvent {
  readonly id: string;
  readonly type: string;
  readonly occurredAt?: string | undefined;
  /** The entity's key (as a string). */
  readonly key: string;
  /** The event's fields the contract declares (recursively: undeclared properties are dropped). */
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * An entity: its fields as the events gave them (the key field among them), and the projection's
 * bookkeeping under names no GraphQL field can take. Its size does not grow with its event count
 * (the read model remembers recent event ids itself, bounded).
 */
export type TopicEntity = Readonly<Record<string, unknown>> & {
  readonly __key: string;
  /** Events applied to it. */
  readonly __version: number;
};

/**
 * Only the properties the contract declares, at every depth: a schema allows undeclared properties
 * unless it says otherwise, and the entity keeps what it is given (snapshots, responses) in full.
 */
function declared(value: Readonly<Record<string, unknown>>, fields: readonly FieldShape[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const { name, shape } of fields) if (Object.hasOwn(value, name)) kept[name] = declaredValue(value[name], shape);
  return kept;
}

function declaredValue(value: unknown, shape: Shape): unknown {
  if (value === null || value === undefined) return value;
  if (shape.kind === 'list') return Array.isArray(value) ? value.map((item) => declaredValue(item, shape.of)) : value;
  if (shape.kind === 'object') return typeof value === 'object' ? declared(value as Record<string, unknown>, shape.fields) : value;
  return value;
}

/**
 * Decodes a record's value by the contract: JSON, a known event type, valid against its schema;
 * its data holds only the fields the contract declares. Never throws.
 */
export function topicDecoder(contract: EventContract): (value: string) => Decoded<TopicEvent> {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validators = new Map<string, ValidateFunction>(contract.types.map((t) => [t.type, ajv.compile(t.schema)]));
  const known = contract.types.map((t) => t.type).join(', ');
  return (value) => {
    let event: unknown;
    try {
      event = JSON.parse(value);
    } catch (err) {
      return { ok: false, reason: `not JSON: ${(err as Error).message}` };
    }
    const type = (event as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') return { ok: false, reason: 'not an event: no `type`' };
    const validate = validators.get(type);
    if (!validate) return { ok: false, reason: `unknown event type ${JSON.stringify(type)} (the contract has ${known})` };
    if (!validate(event)) {
      const problems = (validate.errors ?? []).map((e) => `event${e.instancePath} ${e.message ?? 'is invalid'}`).join('; ');
      return { ok: false, reason: `invalid ${type}: ${problems}` };
    }
    const data = event as Record<string, unknown>;
    return {
      ok: true,
      event: {
        id: data[contract.id] as string,
        type,
        occurredAt: contract.occurredAt ? (data['occurredAt'] as string | undefined) : undefined,
        key: String(data[contract.key]),
        data: declared(data, contract.fields),
      },
    };
  };
}

/**
 * Upserts: an event creates its key's entity or merges its declared fields into it (all but `type`
 * and the event id). `indexes` names top-level properties to list entities by (their string value).
 */
export function upsertReducer(contract: EventContract, indexes: readonly string[] = []): Reducer<TopicEntity, TopicEvent> {
  return {
    indexes: Object.fromEntries(
      indexes.map((property) => [property, (entity: TopicEntity) => (typeof entity[property] === 'string' ? entity[property] : undefined)]),
    ),
    key: (event) => event.key,
    eventId: (event) => event.id,
    keyOf: (entity) => entity.__key,
    apply(existing, event) {
      const fields = Object.fromEntries(Object.entries(event.data).filter(([name]) => name !== 'type' && name !== contract.id));
      return {
        entity: {
          ...existing,
          ...fields,
          __key: event.key,
          __version: (existing?.__version ?? 0) + 1,
        },
      };
    },
  };
}

export interface TopicProjectionOptions extends ReadModelOptions {
  /**
   * Top-level properties to list entities by (`productId`: the stock levels of a product), each a
   * secondary index of the read model, kept as events change the property. Default: none.
   */
  indexes?: readonly string[] | undefined;
}

/** The read model of a topic: upserted entities, listed by key (integer keys in numeric order), and by the properties it indexes. */
export class TopicProjection extends ReadModel<TopicEntity, TopicEvent> {
  readonly #compare: (a: string, b: string) => number;
  /** The keys in order, as of `keyChanges` `#sortedAt`: sorted again only once a new key came. */
  #sorted: string[] = [];
  #sortedAt = -1;

  constructor(contract: EventContract, options: TopicProjectionOptions = {}) {
    super(upsertReducer(contract, options.indexes), options);
    const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    // A key that is not a number (an `after` a client made up) falls back to text order.
    this.#compare = contract.keyScalar === 'integer' ? (a, b) => Number(a) - Number(b) || byText(a, b) : byText;
  }

  /** The first `first` entities by key (1 to 100), after the key `after` when given. */
  page(first: number, after?: string | null): TopicEntity[] {
    const count = pageSize(first);
    const keys = this.#keys();
    let from = 0;
    if (after !== undefined && after !== null) {
      // The first key after `after`: a binary search.
      let high = keys.length;
      while (from < high) {
        const middle = (from + high) >>> 1;
        if (this.#compare(keys[middle]!, after) <= 0) from = middle + 1;
        else high = middle;
      }
    }
    return keys.slice(from, from + count).map((key) => this.get(key)!);
  }

  /** The entities whose `property` (one of the `indexes`) is `value`, by key. */
  listedBy(property: string, value: string): TopicEntity[] {
    return this.indexed(property, value).sort((a, b) => this.#compare(a.__key, b.__key));
  }

  #keys(): string[] {
    if (this.#sortedAt !== this.keyChanges) {
      this.#sorted = [...this.values()].map((entity) => entity.__key).sort(this.#compare);
      this.#sortedAt = this.keyChanges;
    }
    return this.#sorted;
  }
}

/** Whether a value read back from a snapshot is an entity. */
export const isTopicEntity = (value: unknown): boolean =>
  typeof (value as TopicEntity | null)?.__key === 'string' && typeof (value as TopicEntity).__version === 'number';

/** Most events one `POST /events` takes. */
const MAX_INLET_EVENTS = 1_000;

/**
 * `POST /events` on the ops listener: publishes the body's events (one JSON object or an array)
 * to the topic, each keyed by its key field; answers `{ "published": [{ partition, offset }] }`.
 * Nothing is validated beyond the key: the projection validates, and dead-letters what is invalid.
 * Refusals are coded like every other (`errors[0].extensions.code`): 415 for a body that is not
 * `application/json`, 400 BAD_REQUEST for malformed JSON or events without a key, 413
 * PAYLOAD_TOO_LARGE over 1 MB; 503 EVENT_LOG_UNAVAILABLE when the log does not take them (the
 * cause is logged, not sent).
 */
export function eventInlet(log: EventLog, topic: string, contract: Pick<EventContract, 'key'>, logger: Logger): (app: Express) => void {
  const publish: RequestHandler = async (req, res) => {
    if (!req.is('application/json')) {
      res.status(415).json(errorBody('send the events as JSON (content-type: application/json)', ErrorCode.BAD_REQUEST));
      return;
    }
    const body: unknown = req.body;
    const events = Array.isArray(body) ? (body as unknown[]) : [body];
    const keyless = events.findIndex((e) => {
      const key = (e as Record<string, unknown> | null)?.[contract.key];
      return typeof key !== 'string' && typeof key !== 'number';
    });
    if (events.length === 0 || events.length > MAX_INLET_EVENTS || keyless >= 0) {
      const message =
        keyless >= 0
          ? `event ${keyless} has no key field \`${contract.key}\``
          : `send one event (a JSON object) or an array of 1 to ${MAX_INLET_EVENTS}`;
      res.status(400).json(errorBody(message, ErrorCode.BAD_REQUEST));
      return;
    }
    const records = events.map((e) => ({ key: String((e as Record<string, unknown>)[contract.key]), value: JSON.stringify(e) }));
    try {
      res.json({ published: await log.publish(topic, records) });
    } catch (err) {
      logger.error({ err, topic, events: records.length }, 'POST /events: the event log did not take the events');
      res.status(503).json(errorBody('the event log did not take the events; try again later', ErrorCode.EVENT_LOG_UNAVAILABLE));
    }
  };
  return (app) => void app.post('/events', express.json({ limit: '1mb' }), bodyErrors, publish);
}
