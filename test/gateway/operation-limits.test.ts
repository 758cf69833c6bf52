/**
 * Operation limits, trusted documents, APQ and subscription variables against a real gateway
 * process (default limits) on a small supergraph composed here with federation's demand-control
 * directives: each limit at and just above its setting over HTTP (POST and GET), graphql-ws and
 * graphql-sse; the bombs refused with the code; the socket stays open after a refusal.
 *
 * Subscriptions that pass admission go upstream, where this test's subgraph (plain HTTP) cannot
 * serve them: their SUBGRAPH_UNAVAILABLE is the proof that they were admitted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import WebSocket from 'ws';
import { sha256 } from '../../gateway/src/limits/trusted-documents.ts';
import { startChild, type Child } from '../../lib/supervisor.ts';
import { BOMBS, tokensOf } from '../support/operation-limits.ts';
import { TEST_IDENTITY_SECRET } from '../support/identity.ts';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])
  type Query {
    customers(first: Int = 20, ids: [ID!]): [Customer!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
  }
  type Customer @key(fields: "id") {
    id: ID!
    name: String!
    bestFriend: Customer
    favoriteProducts: [Product!] @listSize(assumedSize: 5)
  }
  type Product { name: String! }
  enum OrderEventType { PLACED PAID SHIPPED CANCELLED }
  type OrderEvent { cursor: String! type: OrderEventType! }
  type Subscription { orderEvents(types: [OrderEventType!]): OrderEvent! }
`);

const customer = (i: number): Record<string, unknown> => ({ id: `c${i}`, name: `Customer ${i}`, favoriteProducts: [{ name: 'Tea' }] });
const resolvers = {
  Query: {
    customers: (_: unknown, { first }: { first: number }) => Array.from({ length: Math.min(first, 3) }, (_x, i) => customer(i + 1)),
  },
  Customer: { bestFriend: () => customer(1) },
};

const TRUSTED = '{ customers(first: 2) { id name } }';
const TRUSTED_SIZED = 'query Sized($n: Int) { customers(first: $n) { id } }';

interface Answer {
  status: number;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  data?: unknown;
}

const codeOf = (a: Answer) => a.errors?.[0]?.extensions?.['code'];

describe('operation limits on a real gateway', () => {
  let dir: string;
  let subgraph: ApolloServer;
  let gateway: Child;
  let required: Child;
  let base: string;

  before(async () => {
    subgraph = new ApolloServer({ schema: buildSubgraphSchema([{ typeDefs, resolvers }]) });
    const { url } = await startStandaloneServer(subgraph, { listen: { port: 0, host: '127.0.0.1' } });
    const composed = composeServices([{ name: 'shop', typeDefs, url }]);
    assert.ok(composed.supergraphSdl, String(composed.errors));
    dir = await mkdtemp(join(tmpdir(), 'interchange-limits-'));
    await writeFile(join(dir, 'supergraph.graphql'), composed.supergraphSdl);
    const manifest = {
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [
        { id: sha256(TRUSTED), name: 'Two', type: 'query', body: TRUSTED },
        { id: sha256(TRUSTED_SIZED), name: 'Sized', type: 'query', body: TRUSTED_SIZED },
      ],
    };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const start = (env: Record<string, string>) =>
      startChild({
        name: 'gateway',
        entry: 'gateway/src/main.ts',
        args: ['--supergraph', join(dir, 'supergraph.graphql'), '--port', '0'],
        env: {
          LOG_LEVEL: 'warn',
          IDENTITY_SECRET: TEST_IDENTITY_SECRET,
          TRUSTED_DOCUMENTS: join(dir, 'manifest.json'),
          UPSTREAM_SUBSCRIPTION_RETRIES: '0',
          UPSTREAM_CONNECT_TIMEOUT_MS: '2000',
          UPSTREAM_RECOVERY_MS: '2000',
          ...env,
        },
        listeners: ['http'],
        startTimeoutMs: 60_000,
      });
    [gateway, required] = await Promise.all([start({}), start({ TRUSTED_DOCUMENTS_REQUIRED: 'true' })]);
    base = `http://127.0.0.1:${gateway.ports.http}`;
  });
  after(async () => {
    await Promise.all([gateway?.stop(), required?.stop()]);
    await subgraph?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const post = async (body: Record<string, unknown>, at = base): Promise<Answer> => {
    const response = await fetch(`${at}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, ...((await response.json()) as object) };
  };
  const get = async (params: Record<string, string>): Promise<Answer> => {
    const response = await fetch(`${base}/graphql?${new URLSearchParams(params)}`, { headers: { 'apollo-require-preflight': 'true' } });
    return { status: response.status, ...((await response.json()) as object) };
  };
  /** graphql-sse, distinct connections mode: a refusal is a 400 with JSON; a result the first `next` event. */
  const sse = async (body: Record<string, unknown>, at = base): Promise<Answer> => {
    const response = await fetch(`${at}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200) return { status: response.status, ...(JSON.parse(text) as object) };
    const next = /event: next\ndata: (.*)\n/.exec(text);
    assert.ok(next, `an event stream with a result: ${text}`);
    return { status: 200, ...(JSON.parse(next[1]!) as object) };
  };

  /** A graphql-ws connection: each operation's first result or error; the socket must stay open. */
  async function socket(at = base) {
    const ws = new WebSocket(`${at.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const waiting = new Map<string, (a: Answer) => void>();
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; id?: string; payload?: unknown };
      const settle = message.id === undefined ? undefined : waiting.get(message.id);
      if (!settle) return;
      if (message.type === 'next') settle({ status: 200, ...(message.payload as object) });
      if (message.type === 'error') settle({ status: 200, errors: message.payload as Answer['errors'] });
      waiting.delete(message.id!);
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise<void>((resolve) => ws.once('message', () => resolve()));
    let ids = 0;
    return {
      ws,
      run: (payload: Record<string, unknown>) =>
        new Promise<Answer>((resolve) => {
          const id = String(++ids);
          waiting.set(id, resolve);
          ws.send(JSON.stringify({ type: 'subscribe', id, payload: { query: '', ...payload } }));
        }),
      close: () => ws.close(),
    };
  }

  const nested = (depth: number) => `{ customers(first: 1) ${'{ bestFriend '.repeat(depth - 2)}{ id }${' }'.repeat(depth - 2)} }`;
  const limits: [string, number, (n: number) => string][] = [
    ['depth', 15, nested],
    ['aliases', 30, (n) => `{ customers(first: 1) { ${Array.from({ length: n }, (_, i) => `a${i}: id`).join(' ')} } }`],
    ['rootFields', 20, (n) => `{ ${'__typename '.repeat(n)}}`],
    // Fields through a fragment spread n - 1 times: each spread counts its fields again.
    ['fields', 500, (n) => `{ customers(first: 1) { ${'...F '.repeat(n - 1)}} } fragment F on Customer { id }`],
    ['directives', 50, (n) => `{ customers(first: 1) { ${'id @include(if: true) '.repeat(n)}} }`],
    // A list literal: one token an element, without repeating a field (GraphQL's own validation meters that).
    [
      'tokens',
      2_000,
      (n) => `{ customers(first: 1, ids: [${'"c1" '.repeat(n - tokensOf('{ customers(first: 1, ids: []) { id } }'))}]) { id } }`,
    ],
    ['documentBytes', 65_536, (n) => `{ __typename }${' '.repeat(n - 14)}`],
    ['cost', 10_000, (n) => `{ customers(first: ${n}) { id } }`],
  ];

  for (const [limit, max, make] of limits) {
    test(
      `${limit}: admitted at ${max}, refused above with OPERATION_LIMIT_EXCEEDED on HTTP POST and GET, WebSocket and SSE`,
      { timeout: 60_000 },
      async () => {
        const ws = await socket();
        try {
          for (const [transport, run] of [
            ['POST', (q: string) => post({ query: q })],
            ['GET', (q: string) => get({ query: q })],
            ['WebSocket', (q: string) => ws.run({ query: q })],
            ['SSE', (q: string) => sse({ query: q })],
          ] as const) {
            if (transport === 'GET' && make(max + 1).length > 4_000) continue; // a URL that long is over Node's header limit
            const admitted = await run(make(max));
            assert.equal(admitted.errors, undefined, `${transport} at the limit: ${JSON.stringify(admitted.errors)}`);
            assert.equal(admitted.status, 200);
            const refused = await run(make(max + 1));
            assert.deepEqual(refused.errors?.[0]?.extensions, { code: 'OPERATION_LIMIT_EXCEEDED', limit, max }, transport);
            assert.equal(refused.status, transport === 'WebSocket' ? 200 : 400, transport);
          }
          assert.equal(ws.ws.readyState, WebSocket.OPEN, 'the socket stays open after a refusal');
        } finally {
          ws.close();
        }
      },
    );
  }

  test("the issue's bombs are refused with OPERATION_LIMIT_EXCEEDED, and the gateway keeps answering", { timeout: 60_000 }, async () => {
    const ws = await socket();
    try {
      for (const [name, query] of Object.entries(BOMBS)) {
        const http = await post({ query });
        assert.equal(codeOf(http), 'OPERATION_LIMIT_EXCEEDED', name);
        assert.equal(http.status, 400);
        if (encodeURIComponent(query).length < 4_000) {
          const viaGet = await get({ query });
          assert.deepEqual([viaGet.status, codeOf(viaGet)], [400, 'OPERATION_LIMIT_EXCEEDED'], `${name} over GET`);
        }
        if (Buffer.byteLength(query) < 1_000_000) {
          assert.equal(codeOf(await ws.run({ query })), 'OPERATION_LIMIT_EXCEEDED', `${name} over WebSocket`);
          assert.equal(codeOf(await sse({ query })), 'OPERATION_LIMIT_EXCEEDED', `${name} over SSE`);
        }
      }
      assert.deepEqual((await post({ query: '{ customers(first: 1) { name } }' })).data, { customers: [{ name: 'Customer 1' }] });
    } finally {
      ws.close();
    }
  });

  test(
    'subscriptions pass the same limits; their variables are coerced at the gateway before any upstream subscription',
    { timeout: 60_000 },
    async () => {
      const ws = await socket();
      try {
        const over = `subscription { orderEvents { ${Array.from({ length: 31 }, (_, i) => `a${i}: cursor`).join(' ')} } }`;
        assert.equal(codeOf(await ws.run({ query: over })), 'OPERATION_LIMIT_EXCEEDED');
        assert.equal(codeOf(await sse({ query: over })), 'OPERATION_LIMIT_EXCEEDED');
        const query = 'subscription($types: [OrderEventType!]) { orderEvents(types: $types) { cursor type } }';
        for (const run of [(v: unknown) => ws.run({ query, variables: v }), (v: unknown) => sse({ query, variables: v })]) {
          const bad = await run({ types: ['NOPE'] });
          assert.equal(codeOf(bad), 'BAD_USER_INPUT', JSON.stringify(bad));
          assert.match(bad.errors![0]!.message, /NOPE/);
          // A good value goes upstream (which this test's subgraph cannot serve).
          assert.equal(codeOf(await run({ types: ['PLACED'] })), 'SUBGRAPH_UNAVAILABLE');
        }
        assert.equal(ws.ws.readyState, WebSocket.OPEN);
      } finally {
        ws.close();
      }
    },
  );

  test(
    'trusted documents run by id on every transport; when required, anything else is PERSISTED_QUERY_NOT_IN_LIST',
    { timeout: 60_000 },
    async () => {
      const byHash = { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(TRUSTED) } } };
      const expected = { customers: [customer(1), customer(2)].map(({ id, name }) => ({ id, name })) };
      const requiredUrl = `http://127.0.0.1:${required.ports.http}`;
      for (const at of [base, requiredUrl]) {
        assert.deepEqual((await post(byHash, at)).data, expected);
        assert.deepEqual((await post({ documentId: sha256(TRUSTED) }, at)).data, expected);
        assert.deepEqual((await sse({ query: '', ...byHash }, at)).data, expected);
        const ws = await socket(at);
        assert.deepEqual((await ws.run(byHash)).data, expected);
        ws.close();
      }
      assert.deepEqual((await get({ extensions: JSON.stringify(byHash.extensions) })).data, expected);
      const other = '{ customers(first: 1) { id } }';
      const refused = await post({ query: other }, requiredUrl);
      assert.equal(codeOf(refused), 'PERSISTED_QUERY_NOT_IN_LIST');
      assert.equal(refused.status, 400);
      assert.equal(
        codeOf(await post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(other) } } }, requiredUrl)),
        'PERSISTED_QUERY_NOT_IN_LIST',
      );
      assert.equal(codeOf(await sse({ query: other }, requiredUrl)), 'PERSISTED_QUERY_NOT_IN_LIST');
      const ws = await socket(requiredUrl);
      assert.equal(codeOf(await ws.run({ query: other })), 'PERSISTED_QUERY_NOT_IN_LIST');
      ws.close();
      // The manifest's own body, sent in full, runs.
      assert.deepEqual((await post({ query: TRUSTED }, requiredUrl)).data, expected);
      // A trusted document named by id is admitted with the request's own variables.
      const sized = { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(TRUSTED_SIZED) } } };
      assert.deepEqual((await post({ ...sized, variables: { n: 1 } }, requiredUrl)).data, { customers: [{ id: 'c1' }] });
      assert.equal(codeOf(await post({ ...sized, variables: { n: 1_000_000 } }, requiredUrl)), 'OPERATION_LIMIT_EXCEEDED');
      assert.equal(
        codeOf(await get({ extensions: JSON.stringify(sized.extensions), variables: JSON.stringify({ n: 1_000_000 }) })),
        'OPERATION_LIMIT_EXCEEDED',
      );
    },
  );

  test('APQ works as Apollo clients expect, through admission', { timeout: 60_000 }, async () => {
    const query = `{ customers(first: 1) { id } } # ${Date.now()}`;
    const hashOnly = { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } };
    assert.equal(codeOf(await post(hashOnly)), 'PERSISTED_QUERY_NOT_FOUND');
    assert.deepEqual((await post({ query, ...hashOnly })).data, { customers: [{ id: 'c1' }] });
    assert.deepEqual((await post(hashOnly)).data, { customers: [{ id: 'c1' }] });
    assert.deepEqual((await get({ extensions: JSON.stringify(hashOnly.extensions) })).data, { customers: [{ id: 'c1' }] });
    // A query over a limit is refused when it would be registered, so its hash never runs.
    const big = nested(16);
    const bigHash = { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(big) } } };
    assert.equal(codeOf(await post({ query: big, ...bigHash })), 'OPERATION_LIMIT_EXCEEDED');
    assert.equal(codeOf(await post(bigHash)), 'PERSISTED_QUERY_NOT_FOUND');
  });

  test(
    'APQ: a hash sent alone is admitted again with its own variables and operationName, over POST and GET',
    { timeout: 60_000 },
    async () => {
      const apq = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(query) } });
      const sized = `query Q($n: Int) { customers(first: $n) { id } } # ${Date.now()}`;
      assert.deepEqual((await post({ query: sized, extensions: apq(sized), variables: { n: 1 } })).data, { customers: [{ id: 'c1' }] });
      assert.deepEqual((await post({ extensions: apq(sized), variables: { n: 1 } })).data, { customers: [{ id: 'c1' }] });
      const huge = { n: 1_000_000 };
      const refusedPost = await post({ extensions: apq(sized), variables: huge });
      assert.deepEqual([refusedPost.status, codeOf(refusedPost)], [400, 'OPERATION_LIMIT_EXCEEDED']);
      const refusedGet = await get({ extensions: JSON.stringify(apq(sized)), variables: JSON.stringify(huge) });
      assert.deepEqual([refusedGet.status, codeOf(refusedGet)], [400, 'OPERATION_LIMIT_EXCEEDED']);
      const two = `query A { customers(first: 1) { id } } query B { ${'__typename '.repeat(25)}} # ${Date.now()}`;
      assert.deepEqual((await post({ query: two, extensions: apq(two), operationName: 'A' })).data, { customers: [{ id: 'c1' }] });
      const b = await post({ extensions: apq(two), operationName: 'B' });
      assert.deepEqual([b.status, codeOf(b)], [400, 'OPERATION_LIMIT_EXCEEDED']);
      const bGet = await get({ extensions: JSON.stringify(apq(two)), operationName: 'B' });
      assert.deepEqual([bGet.status, codeOf(bGet)], [400, 'OPERATION_LIMIT_EXCEEDED']);
    },
  );

  test('a GET with more than 1,000 query parameters is admitted as Apollo Server reads it', { timeout: 60_000 }, async () => {
    const over = `{ ${'__typename '.repeat(25)}}`;
    const padding = Array.from({ length: 1_000 }, (_, i) => `a${i}=`).join('&');
    const response = await fetch(`${base}/graphql?${padding}&${new URLSearchParams({ query: over })}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    const answer = { status: response.status, ...((await response.json()) as object) } as Answer;
    assert.deepEqual([answer.status, codeOf(answer)], [400, 'OPERATION_LIMIT_EXCEEDED']);
  });
});
