/**
 * The subscription engine on a small supergraph composed here (with `@resumable` composed in, as
 * the orders subgraph declares it) and a fake upstream: what goes upstream, what is shared, and
 * which supergraphs are refused.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composeServices } from '@apollo/composition';
import { FederatedSchema } from '../executor/federated-schema.ts';
import type { SubgraphSenders } from '../executor/operations.ts';
import { GraphQLError, isObjectType, parse, type ExecutionResult } from 'graphql';
import { ANONYMOUS } from '../../../lib/auth/principal.ts';
import { createLogger } from '../../../lib/logger.ts';
import { FakeClock, FakeUpstream, ended, take } from '../../../test/support/fake-upstream.ts';
import { SubscriptionEngine, type SubscriptionEdge } from './engine.ts';
import { KeyedCounts } from '../edge/counts.ts';
import type { EventBudget } from './subscriber.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { InvalidResumableDirective } from './resumable-field.ts';

const log = createLogger('test', 'silent');

/** A supergraph of one subgraph whose `events` field is resumable (`@resumable` as given) and `plain` is not. */
function supergraph(
  directive = '@resumable(position: "cursor", argument: "after")',
  eventFields = 'cursor: String! seq: String! id: ID! count: Int!',
): string {
  const sdl = `
    extend schema
      @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@composeDirective"])
      @link(url: "https://interchange.dev/resumable/v1.0", import: ["@resumable"])
      @composeDirective(name: "@resumable")
    directive @resumable(position: String!, argument: String!) on FIELD_DEFINITION
    type Query { ping: Int }
    type Event { ${eventFields} }
    type Subscription {
      events(kind: String, after: String, limit: Int): Event! ${directive}
      plain(after: String): Event!
    }`;
  const result = composeServices([{ name: 'events', url: 'http://127.0.0.1:9/graphql', typeDefs: parse(sdl) }]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

function setUp(sdl = supergraph(), senders: SubgraphSenders = {}) {
  const upstream = new FakeUpstream();
  const engine = new SubscriptionEngine({
    schema: new FederatedSchema(sdl),
    urls: new Map([['events', 'http://127.0.0.1:9/graphql']]),
    senders,
    lagThresholdEvents: 1_000,
    log,
    subscriberBufferEvents: 100,
    upstreamRetryAttempts: 3,
    upstreamRecoveryMs: 60_000,
    upstreamConnectTimeoutMs: 1_000,
    upstreamBacklogEvents: 100,
    resolution: { concurrency: 64, retries: 0 },
    identitySecret: 'a-secret-of-at-least-thirty-two-characters',
    clock: new FakeClock(),
    openUpstream: (_service, request) =>
      upstream.open(request.extensions?.['resumable'] as never, request as unknown as Record<string, unknown>),
  });
  /** The engine's answer, a subscription or a refusal. */
  const attempt = (
    query: string,
    variables: Record<string, unknown> = {},
    extensions?: Record<string, unknown>,
    principal = ANONYMOUS,
    edge?: SubscriptionEdge,
  ) => engine.subscribe({ document: parse(query), variables, operationName: undefined, identity: {}, principal, extensions, edge });
  const subscribe = (...args: Parameters<typeof attempt>) => {
    const result = attempt(...args);
    assert.ok(Symbol.asyncIterator in result, `not a subscription: ${JSON.stringify(result)}`);
    return result as AsyncIterableIterator<ExecutionResult>;
  };
  return { upstream, engine, subscribe, attempt };
}

const RESUME = 'subscription ($after: String) { events(kind: "a", after: $after) { id cursor } }';

describe('the subscription engine', () => {
  test('sends the client operation unchanged, $after and all, with the position in extensions.resumable', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    const client = subscribe(RESUME, { after: 'c1' });
    const live = await upstream.opened(1);
    assert.equal(live.request['query'], 'subscription($after:String){events(kind:"a" after:$after){id cursor}}');
    assert.deepEqual(live.request['variables'], { after: 'c1' });
    assert.deepEqual(live.request['extensions'], { resumable: { after: null } });
    live.checkpoint('c5');
    const replay = await upstream.opened(2);
    assert.equal(replay.request['query'], live.request['query'], 'the replay sends the same operation');
    assert.deepEqual(replay.request['extensions'], { resumable: { after: 'c1', until: 'c5' } });
    replay
      .event({ events: { id: '2', cursor: 'c2' } }, 'c2')
      .checkpoint('c5')
      .complete();
    live.event({ events: { id: '6', cursor: 'c6' } }, 'c6');
    const results = await take(client, 2);
    assert.deepEqual(
      results.map((r) => JSON.parse(JSON.stringify(r.data)) as unknown),
      [{ events: { id: '2', cursor: 'c2' } }, { events: { id: '6', cursor: 'c6' } }],
      'no private alias, no extensions.resumable in results',
    );
    assert.ok(results.every((r) => r.extensions === undefined));
  });

  test('a reconnect storm of clients resuming from different positions shares one live upstream', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    const clients = Array.from({ length: 20 }, (_, i) =>
      i % 2 ? subscribe(RESUME, { after: `c${i}` }) : subscribe(`subscription { events(kind: "a", after: "c${i}") { id cursor } }`),
    );
    clients.push(subscribe('subscription { events(kind: "a") { id cursor } }'));
    (await upstream.opened(1)).checkpoint('c100');
    await upstream.opened(21);
    assert.deepEqual(engine.stats(), { shared: 1, subscribers: 21, upstreamOpened: 21 });
    assert.equal(upstream.streams.filter((s) => s.resume?.until === undefined).length, 1, 'one live upstream, 20 bounded replays');
  });

  test('a resume variable also used elsewhere (a fragment) keeps its value in the sharing key', async (t) => {
    const { engine, subscribe } = setUp();
    t.after(() => engine.close());
    const query = 'subscription ($after: String) { events(after: $after) { ...F } } fragment F on Event { id k: cursor @skip(if: false) }';
    subscribe(query, { after: 'c1' });
    subscribe(query, { after: 'c2' });
    assert.equal(engine.stats().shared, 1, 'used only as the argument: shared');
    const twice = 'subscription ($after: String) { events(after: $after, kind: $after) { id } }';
    subscribe(twice, { after: 'c1' });
    subscribe(twice, { after: 'c2' });
    assert.equal(engine.stats().shared, 3);
  });

  test('subscriptions that differ in another argument or variable do not share', async (t) => {
    const { engine, subscribe } = setUp();
    t.after(() => engine.close());
    subscribe(RESUME, { after: 'c1' });
    subscribe('subscription ($after: String) { events(kind: "b", after: $after) { id cursor } }', { after: 'c1' });
    subscribe('subscription ($l: Int) { events(limit: $l) { id } }', { l: 1 });
    subscribe('subscription ($l: Int) { events(limit: $l) { id } }', { l: 2 });
    assert.equal(engine.stats().shared, 4);
  });

  test('callers with different principals never share a subscription; the same principal does', async (t) => {
    const { engine, subscribe } = setUp();
    t.after(() => engine.close());
    const c1 = { subject: 'u1', customerId: 'c1', scopes: ['orders:write'] };
    subscribe(RESUME, { after: 'c1' }, undefined, c1);
    subscribe(RESUME, { after: 'c1' }, undefined, { ...c1 });
    subscribe(RESUME, { after: 'c1' }, undefined, { ...c1, customerId: 'c2' });
    subscribe(RESUME, { after: 'c1' }, undefined, { ...c1, scopes: ['support'] });
    subscribe(RESUME, { after: 'c1' });
    assert.equal(engine.stats().shared, 4);
  });

  test('a field without @resumable is passed through: no extensions, its after an ordinary argument', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    const client = subscribe('subscription { plain(after: "x") { id } }');
    subscribe('subscription { plain(after: "y") { id } }');
    assert.equal(engine.stats().shared, 2);
    const live = await upstream.opened(1);
    assert.equal(live.request['extensions'], undefined);
    live.event({ plain: { id: '1' } });
    assert.deepEqual(JSON.parse(JSON.stringify((await take(client, 1))[0])), { data: { plain: { id: '1' } } });
  });

  test('a client asking for stream status gets status-only results with its position', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    const client = subscribe('subscription { events { id } }', {}, { stream: { status: true } });
    (await upstream.opened(1)).checkpoint('c9');
    assert.deepEqual(await take(client, 1), [{ extensions: { stream: { lagging: false, position: 'c9' } } }]);
  });
});

describe("the client's edge", () => {
  const LIVE = 'subscription { events(kind: "a") { id cursor } }';
  const eventAt = (n: number) => ({ events: { id: String(n), cursor: `c${n}` } });
  const idOf = (result: ExecutionResult | undefined) => (result?.data as { events?: { id: string } } | null | undefined)?.events?.id;

  /** An edge that counts the client's upstream subscriptions against `max`, with this event budget. */
  function edgeOf(max: number, budget?: EventBudget) {
    const counts = new KeyedCounts(max);
    const edge: SubscriptionEdge = {
      openUpstream: () => counts.acquire('client') ?? new GraphQLError('too many', { extensions: { code: 'CAPACITY_EXCEEDED' } }),
      budget,
    };
    return { edge, open: () => counts.of('client') };
  }

  test("a private replay counts as one of the client's upstream subscriptions until it merges into the shared stream or the client leaves", async (t) => {
    const { upstream, engine, subscribe, attempt } = setUp();
    t.after(() => engine.close());
    const { edge, open } = edgeOf(2);
    subscribe(LIVE, {}, undefined, ANONYMOUS, edge);
    const live = await upstream.opened(1);
    const resumer = subscribe(RESUME, { after: 'c1' }, undefined, ANONYMOUS, edge);
    assert.equal(open(), 2, 'the shared subscription and the replay');
    const refused = attempt(RESUME, { after: 'c2' }, undefined, ANONYMOUS, edge);
    assert.ok(!(Symbol.asyncIterator in refused), 'a third upstream stream is refused');
    assert.equal(refused.errors?.[0]?.extensions['code'], 'CAPACITY_EXCEEDED');
    assert.equal(open(), 2);

    live.checkpoint('c5');
    const replay = await upstream.opened(2);
    replay.event(eventAt(2), 'c2').checkpoint('c5').complete();
    assert.deepEqual((await take(resumer, 1)).map(idOf), ['2']);
    await waitFor(() => open() === 1, 5_000, 'the merged replay still counts');

    const again = subscribe(RESUME, { after: 'c3' }, undefined, ANONYMOUS, edge);
    await upstream.opened(3);
    assert.equal(open(), 2);
    await again.return?.();
    await waitFor(() => open() === 1, 5_000, 'the replay of a client that left still counts');
    assert.equal(engine.stats().shared, 1);
  });

  test('a client over its event budget resumes later from lastDeliveredCursor and gets exactly the events it missed, none twice', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    // Two events, then none until the test refills it ("later").
    let allowance = 2;
    const { edge } = edgeOf(10, { take: async () => (allowance-- > 0 ? undefined : 1_000) });
    const other = subscribe(LIVE);
    const client = subscribe(LIVE, {}, undefined, ANONYMOUS, edge);
    const live = await upstream.opened(1);
    live.checkpoint('c0');
    for (let n = 1; n <= 5; n++) live.event(eventAt(n), `c${n}`);

    const [first, second, refusal] = await take(client, 3);
    assert.deepEqual([first, second].map(idOf), ['1', '2']);
    assert.deepEqual(
      refusal?.errors?.map((e) => e.extensions),
      [{ code: 'RATE_LIMITED', limit: 'subscriptionEvents', retryAfterMs: 1_000, lastDeliveredCursor: 'c2' }],
    );
    assert.ok(await ended(client));
    assert.deepEqual((await take(other, 5)).map(idOf), ['1', '2', '3', '4', '5'], 'the client sharing the stream is not affected');

    allowance = 100;
    const resumed = subscribe(RESUME, { after: refusal?.errors?.[0]?.extensions['lastDeliveredCursor'] }, undefined, ANONYMOUS, edge);
    const replay = await upstream.opened(2);
    assert.deepEqual(replay.resume, { after: 'c2', until: 'c5' });
    for (let n = 3; n <= 5; n++) replay.event(eventAt(n), `c${n}`);
    replay.complete();
    live.event(eventAt(6), 'c6');
    assert.deepEqual((await take(resumed, 4)).map(idOf), ['3', '4', '5', '6']);
    live.event(eventAt(7), 'c7');
    assert.deepEqual((await take(resumed, 1)).map(idOf), ['7'], 'nothing twice after the merge');
    assert.equal(upstream.streams.length, 2, 'one live upstream stream throughout, and one replay');
  });
});

/** Events of the `events` subgraph with a `note` from a second subgraph, `notes`, fetched per event. */
function supergraphWithNotes(): string {
  const events = `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
    type Query { ping: Int }
    type Event @key(fields: "id") { id: ID! }
    type Subscription { events: Event! }`;
  const notes = `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
    type Event @key(fields: "id") { id: ID! note: String }`;
  const result = composeServices([
    { name: 'events', url: 'http://127.0.0.1:9/graphql', typeDefs: parse(events) },
    { name: 'notes', url: 'http://127.0.0.1:9/graphql', typeDefs: parse(notes) },
  ]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

describe('errors in resolved events', () => {
  test('an event without data reaches the client as SUBGRAPH_UNAVAILABLE naming the subgraph', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    const client = subscribe('subscription { events { id } }');
    (await upstream.opened(1)).checkpoint('c1').send({ extensions: { resumable: { position: 'c2' } } });
    const [result] = await take(client, 1);
    assert.deepEqual(result!.errors?.[0]?.extensions, { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'events' });
  });

  test('an error of the per-event execution without a code gets INTERNAL_SERVER_ERROR', async (t) => {
    const failing = { send: () => Promise.reject(new GraphQLError('the subgraph client broke')) };
    const { upstream, engine, subscribe } = setUp(supergraphWithNotes(), { notes: failing });
    t.after(() => engine.close());
    const client = subscribe('subscription { events { id note } }');
    (await upstream.opened(1)).event({ events: { __typename: 'Event', id: '1' } });
    const [result] = await take(client, 1);
    assert.ok(result!.errors?.length, `no error: ${JSON.stringify(result)}`);
    assert.ok(
      result!.errors.every((e) => e.extensions['code'] !== undefined),
      `an error without a code: ${JSON.stringify(result!.errors)}`,
    );
    assert.equal(result!.errors[0]?.extensions['code'], 'INTERNAL_SERVER_ERROR');
  });
});

describe('loading @resumable from the supergraph', () => {
  test('reads the directive, not the names: clients differing in its argument share, in `after` they do not', async (t) => {
    const { engine, subscribe } = setUp(supergraph('@resumable(position: "seq", argument: "kind")'));
    t.after(() => engine.close());
    subscribe('subscription { events(kind: "a", after: "x") { id } }');
    subscribe('subscription { events(kind: "b", after: "x") { id } }');
    subscribe('subscription { events(after: "y") { id } }');
    assert.equal(engine.stats().shared, 2);
  });

  for (const [directive, problem] of [
    ['@resumable(position: "nope", argument: "after")', /position "nope" is not a field of Event/],
    ['@resumable(position: "count", argument: "after")', /position field Event.count must be String!, not Int!/],
    ['@resumable(position: "cursor", argument: "nope")', /argument "nope" is not an argument of events/],
    ['@resumable(position: "cursor", argument: "limit")', /argument events\(limit:\) must be String, not Int/],
  ] as const) {
    test(`refuses a supergraph where ${directive}`, () => {
      assert.throws(
        () => setUp(supergraph(directive)),
        (err: unknown) => err instanceof InvalidResumableDirective && problem.test(err.message) && /Subscription\.events/.test(err.message),
      );
    });
  }
});

describe('a reload of the supergraph', () => {
  const next = (sdl: string, url = 'http://127.0.0.1:9/graphql') => ({
    schema: new FederatedSchema(sdl),
    urls: new Map([['events', url]]),
    senders: {},
  });

  test('a subscription that still validates goes on with no new upstream when the upstream subscription is the same', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    const client = subscribe('subscription { events(kind: "a") { id cursor } }');
    const live = await upstream.opened(1);
    live.event({ events: { id: '1', cursor: 'c1' } }, 'c1');
    assert.deepEqual(
      (await take(client, 1)).map((r) => JSON.parse(JSON.stringify(r.data)) as unknown),
      [{ events: { id: '1', cursor: 'c1' } }],
    );
    const outcome = engine.prepare(next(supergraph(undefined, 'cursor: String! seq: String! id: ID! count: Int! extra: String')))();
    assert.deepEqual(outcome, { kept: 1, reopened: 0, ended: 0 });
    live.event({ events: { id: '2', cursor: 'c2' } }, 'c2');
    assert.deepEqual(
      (await take(client, 1)).map((r) => JSON.parse(JSON.stringify(r.data)) as unknown),
      [{ events: { id: '2', cursor: 'c2' } }],
    );
    assert.equal(upstream.streams.length, 1);
    const event = engine.schema.getType('Event');
    assert.ok(isObjectType(event) && 'extra' in event.getFields(), 'new subscriptions validate against the new supergraph');
  });

  test('a subscription whose subgraph moved is reopened there from its position: nothing missed, nothing twice', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    const client = subscribe('subscription { events(kind: "a") { id cursor } }');
    const live = await upstream.opened(1);
    live.event({ events: { id: '1', cursor: 'c1' } }, 'c1').event({ events: { id: '2', cursor: 'c2' } }, 'c2');
    assert.equal((await take(client, 2)).length, 2);
    assert.deepEqual(engine.prepare(next(supergraph(), 'http://127.0.0.1:10/graphql'))(), { kept: 1, reopened: 1, ended: 0 });
    const moved = await upstream.opened(2);
    assert.ok(live.released, 'the old upstream subscription is released');
    assert.equal(moved.resume?.after, 'c2', 'reopened from the last position taken');
    assert.equal(moved.resume.until, undefined, 'live, not a bounded replay');
    moved.event({ events: { id: '3', cursor: 'c3' } }, 'c3');
    assert.deepEqual(
      (await take(client, 1)).map((r) => JSON.parse(JSON.stringify(r.data)) as unknown),
      [{ events: { id: '3', cursor: 'c3' } }],
    );
    assert.equal(upstream.streams.length, 2);
  });

  test('a subscription without positions whose subgraph moved ends with SUBSCRIPTION_SCHEMA_RELOAD rather than miss events', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    const plain = subscribe('subscription { plain { id } }');
    await upstream.opened(1);
    assert.deepEqual(engine.prepare(next(supergraph(), 'http://127.0.0.1:10/graphql'))(), { kept: 0, reopened: 0, ended: 1 });
    const [last] = await take(plain, 1);
    assert.equal(last!.errors?.[0]?.extensions['code'], 'SUBSCRIPTION_SCHEMA_RELOAD');
    assert.ok(await ended(plain));
    assert.equal(upstream.streams.length, 1, 'not reopened');
  });

  test('a subscription selecting a field that is gone ends with SUBSCRIPTION_SCHEMA_RELOAD naming it; the others go on', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    const counting = subscribe('subscription { events(kind: "a") { id count } }');
    const other = subscribe('subscription { events(kind: "b") { id } }');
    await upstream.opened(2);
    assert.deepEqual(engine.prepare(next(supergraph(undefined, 'cursor: String! seq: String! id: ID!')))(), {
      kept: 1,
      reopened: 0,
      ended: 1,
    });
    const [last] = await take(counting, 1);
    assert.equal(last!.errors?.[0]?.extensions['code'], 'SUBSCRIPTION_SCHEMA_RELOAD');
    assert.match(last!.errors[0]!.message, /Cannot query field "count" on type "Event"/);
    assert.ok(await ended(counting));
    assert.deepEqual(engine.stats(), { shared: 1, subscribers: 1, upstreamOpened: 2 });
    upstream.streams[1]!.event({ events: { id: '9', cursor: 'c9' } }, 'c9');
    assert.deepEqual(
      (await take(other, 1)).map((r) => JSON.parse(JSON.stringify(r.data)) as unknown),
      [{ events: { id: '9' } }],
    );
  });

  test('a supergraph the engine cannot serve is refused by prepare, and nothing changes', async (t) => {
    const { upstream, engine, subscribe } = setUp();
    t.after(() => engine.close());
    subscribe('subscription { events(kind: "a") { id } }');
    await upstream.opened(1);
    const schema = engine.schema;
    assert.throws(() => engine.prepare(next(supergraph('@resumable(position: "nope", argument: "after")'))), InvalidResumableDirective);
    assert.equal(engine.schema, schema);
    assert.deepEqual(engine.stats(), { shared: 1, subscribers: 1, upstreamOpened: 1 });
  });
});
