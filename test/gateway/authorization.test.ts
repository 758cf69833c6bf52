/**
 * The gateway enforcing `@authenticated` and `@requiresScopes` on a supergraph composed here from
 * two tiny in-process subgraphs: what an anonymous caller gets for a query (over HTTP and over
 * graphql-ws), a mutation and subscriptions, and which subgraph requests it costs. A denied field
 * is never fetched: the subgraph that alone serves it gets no request.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { parse, subscribe, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { authorizingGateway } from '../../gateway/src/authorization/enforce.ts';
import { readAuthorizationPolicy, withEnforcedSecurityFeatures } from '../../gateway/src/authorization/policy.ts';
import { readGatewayConfig } from '../../gateway/src/config.ts';
import type { GatewayContext } from '../../gateway/src/identity.ts';
import { startGateway } from '../../gateway/src/server.ts';
import { GRAPHQL_PATH, startGraphQLHost, type GraphQLHost } from '../../lib/graphql-http.ts';
import { DEFAULT_EDGE } from '../../lib/edge.ts';
import { serveGraphQLOverWebSocket } from '../../lib/graphql-ws.ts';
import type { Principal } from '../../lib/auth/principal.ts';
import { createLogger } from '../../lib/logger.ts';
import { postGraphQL } from '../support/graphql.ts';
import { TEST_IDENTITY_SECRET } from '../support/identity.ts';

const log = createLogger('test', 'silent');
const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@authenticated", "@requiresScopes"])`;

const USERS = [
  { id: 'u1', name: 'Ada', email: 'ada@example.com' },
  { id: 'u2', name: 'Bob', email: 'bob@example.com' },
];

const accounts = {
  typeDefs: `${LINK}
    type Query { users: [User!]!  accounts: [Account!]! }
    interface Account { id: ID! }
    type Staff implements Account { id: ID! badge: String @authenticated }
    type User implements Account @key(fields: "id") { id: ID! name: String! email: String @requiresScopes(scopes: [["support"]]) }
    type Mutation { touch: Int  rename(id: ID!, name: String!): User @authenticated }`,
  resolvers: {
    Query: { users: () => USERS, accounts: () => [USERS[0], { id: 's1', badge: 'b1' }] },
    Account: { __resolveType: (account: { badge?: string }) => (account.badge ? 'Staff' : 'User') },
    User: { __resolveReference: (ref: { id: string }) => USERS.find((u) => u.id === ref.id) },
    Mutation: { touch: () => 1, rename: () => assert.fail('a denied mutation ran') },
  },
};

const orders = {
  typeDefs: `${LINK}
    type Query { orderCount: Int }
    type User @key(fields: "id") { id: ID! orders: [Order!] @authenticated }
    type Order { id: ID! }
    type Tick { n: Int!  secret: String @authenticated }
    type Subscription { ticks: Tick!  audit: Int @requiresScopes(scopes: [["admin"]]) }`,
  resolvers: {
    Query: { orderCount: () => 7 },
    User: { orders: () => [{ id: 'o1' }] },
    Subscription: {
      ticks: {
        subscribe: async function* () {
          for (let n = 1; n <= 2; n++) yield { ticks: { n, secret: `s${n}` } };
        },
      },
      audit: { subscribe: () => assert.fail('a denied subscription reached the subgraph') },
    },
  },
};

interface Subgraph {
  host: GraphQLHost;
  /** GraphQL requests it received over HTTP, and subscriptions started over WebSocket. */
  requests: number;
  subscriptions: number;
  stop(): Promise<void>;
}

async function startSubgraph(module: { typeDefs: string; resolvers: unknown }): Promise<Subgraph> {
  const schema = buildSubgraphSchema([{ typeDefs: parse(module.typeDefs), resolvers: module.resolvers as GraphQLResolverMap<unknown> }]);
  const counts = { requests: 0, subscriptions: 0 };
  const host = await startGraphQLHost({
    name: 'test-subgraph',
    log,
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: 1_000_000,
    edge: DEFAULT_EDGE,
    apollo: { schema, includeStacktraceInErrorResponses: false, plugins: [ApolloServerPluginInlineTraceDisabled()] },
    context: async () => ({}),
    readiness: () => ({ ready: true }),
    routes: (app) =>
      app.use(GRAPHQL_PATH, (req, _res, next) => {
        if (req.method === 'POST') counts.requests++;
        next();
      }),
  });
  const ws = serveGraphQLOverWebSocket({
    httpServer: host.httpServer,
    path: GRAPHQL_PATH,
    log,
    graphql: {
      schema,
      subscribe: (args) => {
        counts.subscriptions++;
        return subscribe(args);
      },
    },
  });
  return {
    host,
    get requests() {
      return counts.requests;
    },
    get subscriptions() {
      return counts.subscriptions;
    },
    stop: async () => {
      await ws.stop();
      await host.stop();
    },
  };
}

describe('the gateway enforcing @authenticated and @requiresScopes', { timeout: 60_000 }, () => {
  let dir: string;
  let subgraphs: { accounts: Subgraph; orders: Subgraph };
  let gateway: GraphQLHost<GatewayContext>;
  let client: Client;
  let supergraphSdl: string;

  before(async () => {
    subgraphs = { accounts: await startSubgraph(accounts), orders: await startSubgraph(orders) };
    const composed = composeServices(
      Object.entries(subgraphs).map(([name, s]) => ({
        name,
        url: `${s.host.url}`,
        typeDefs: parse(name === 'accounts' ? accounts.typeDefs : orders.typeDefs),
      })),
    );
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    dir = await mkdtemp(join(tmpdir(), 'interchange-authz-'));
    const file = join(dir, 'supergraph.graphql');
    supergraphSdl = composed.supergraphSdl;
    await writeFile(file, supergraphSdl);
    gateway = await startGateway(
      readGatewayConfig({ LOG_LEVEL: 'silent', IDENTITY_SECRET: TEST_IDENTITY_SECRET, DATA_DIR: dir }, [
        '--supergraph',
        file,
        '--port',
        '0',
      ]),
      log,
    );
    client = createClient({ url: `${gateway.url.replace(/^http/, 'ws')}`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  });
  after(async () => {
    await client?.dispose();
    await gateway?.stop();
    await subgraphs?.accounts.stop();
    await subgraphs?.orders.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const requests = () => ({ accounts: subgraphs.accounts.requests, orders: subgraphs.orders.requests });
  const counted = async <T>(run: () => Promise<T>) => {
    const before = requests();
    const result = await run();
    const after = requests();
    return { result, requests: { accounts: after.accounts - before.accounts, orders: after.orders - before.orders } };
  };
  const errorsOf = (
    errors: readonly { path?: readonly (string | number)[]; message: string; extensions?: Record<string, unknown> }[] = [],
  ) => errors.map((e) => ({ path: e.path, code: e.extensions?.['code'], message: e.message }));
  const collect = async (query: string) => {
    const results: ExecutionResult[] = [];
    for await (const result of client.iterate({ query })) results.push(result as ExecutionResult);
    return results;
  };

  /** The `next` payloads of an SSE request (distinct connections mode), once the server ended it. */
  const overSse = async (query: string) => {
    const response = await fetch(`${gateway.url}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query }),
    });
    const messages = (await response.text()).split('\n\n').filter((m) => m.startsWith('event: next'));
    return messages.map((m) => JSON.parse(m.slice(m.indexOf('data: ') + 6)) as ExecutionResult);
  };

  const QUERY = '{ users { id name email orders { id } } }';
  const QUERY_DATA = {
    users: USERS.map((u) => ({ id: u.id, name: u.name, email: null, orders: null })),
  };
  const QUERY_ERRORS = [
    { path: ['users', 0, 'email'], code: 'UNAUTHORIZED', message: 'not authorized: "User.email" needs scope "support"' },
    { path: ['users', 0, 'orders'], code: 'UNAUTHORIZED', message: 'not authorized: "User.orders" needs a token' },
  ];

  test('a query gets the rest of the data and UNAUTHORIZED errors at the denied paths; the subgraph serving only them is not called', async () => {
    const { result, requests } = await counted(() => postGraphQL(`${gateway.url}`, QUERY));
    assert.equal(result.status, 200);
    assert.deepEqual(result.body.data, QUERY_DATA);
    assert.deepEqual(errorsOf(result.body.errors), QUERY_ERRORS);
    assert.deepEqual(requests, { accounts: 1, orders: 0 });
  });

  test('the same query over graphql-ws goes through the same enforcement', async () => {
    const { result, requests } = await counted(() => collect(QUERY));
    assert.equal(result.length, 1);
    assert.deepEqual(result[0]!.data, QUERY_DATA);
    assert.deepEqual(errorsOf(result[0]!.errors as never), QUERY_ERRORS);
    assert.deepEqual(requests, { accounts: 1, orders: 0 });
  });

  test('over SSE, queries and subscriptions go through the same enforcement', async () => {
    const { result, requests } = await counted(() => overSse(QUERY));
    assert.deepEqual(result, [
      { data: QUERY_DATA, errors: QUERY_ERRORS.map(({ path, code, message }) => ({ message, path, extensions: { code } })) },
    ]);
    assert.deepEqual(requests, { accounts: 1, orders: 0 });
    const events = await overSse('subscription { ticks { n secret } }');
    assert.deepEqual(
      events.map((e) => [e.data, e.errors?.map((error) => error.path)]),
      [
        [{ ticks: { n: 1, secret: null } }, [['ticks', 'secret']]],
        [{ ticks: { n: 2, secret: null } }, [['ticks', 'secret']]],
      ],
    );
  });

  test('on an abstract type, only the objects of the protected type lose the field', async () => {
    const { body } = await postGraphQL(`${gateway.url}`, '{ accounts { id ... on Staff { badge } ... on User { name } } }');
    assert.deepEqual(body.data, {
      accounts: [
        { id: 'u1', name: 'Ada' },
        { id: 's1', badge: null },
      ],
    });
    assert.deepEqual(errorsOf(body.errors), [
      { path: ['accounts', 1, 'badge'], code: 'UNAUTHORIZED', message: 'not authorized: "Staff.badge" needs a token' },
    ]);
  });

  test('a query whose every root field is denied executes nothing', async () => {
    const { result, requests } = await counted(() => postGraphQL(`${gateway.url}`, 'mutation { rename(id: "u1", name: "Eve") { id } }'));
    assert.deepEqual(result.body.data, { rename: null });
    assert.deepEqual(errorsOf(result.body.errors), [
      { path: ['rename'], code: 'UNAUTHORIZED', message: 'not authorized: "Mutation.rename" needs a token' },
    ]);
    assert.deepEqual(requests, { accounts: 0, orders: 0 });
  });

  test('a mutation runs its allowed fields only', async () => {
    const { result, requests } = await counted(() =>
      postGraphQL(`${gateway.url}`, 'mutation { touch rename(id: "u1", name: "Eve") { id } }'),
    );
    assert.deepEqual(result.body.data, { touch: 1, rename: null });
    assert.deepEqual(errorsOf(result.body.errors), [
      { path: ['rename'], code: 'UNAUTHORIZED', message: 'not authorized: "Mutation.rename" needs a token' },
    ]);
    assert.deepEqual(requests, { accounts: 1, orders: 0 });
  });

  test('a subscription streams every event without the denied field, which is null with an error', async () => {
    const before = subgraphs.orders.subscriptions;
    const events = await collect('subscription { ticks { n secret } }');
    assert.equal(subgraphs.orders.subscriptions - before, 1);
    assert.deepEqual(
      events.map((e) => e.data),
      [{ ticks: { n: 1, secret: null } }, { ticks: { n: 2, secret: null } }],
    );
    for (const event of events)
      assert.deepEqual(errorsOf(event.errors as never), [
        { path: ['ticks', 'secret'], code: 'UNAUTHORIZED', message: 'not authorized: "Tick.secret" needs a token' },
      ]);
  });

  test('a denied root subscription field gets an error and opens no upstream subscription', async () => {
    const before = subgraphs.orders.subscriptions;
    const events = await collect('subscription { audit }');
    assert.deepEqual(events, [
      {
        data: { audit: null },
        errors: [
          {
            message: 'not authorized: "Subscription.audit" needs scope "admin"',
            path: ['audit'],
            extensions: { code: 'UNAUTHORIZED' },
          },
        ],
      },
    ]);
    assert.equal(subgraphs.orders.subscriptions - before, 0);
  });

  test('a caller with a token and the scopes gets those fields, fetched from the subgraphs serving them', async (t) => {
    // The principal is set in the context directly, as the authentication middleware does.
    const apollo = new ApolloServer<{ principal: Principal }>({
      gateway: authorizingGateway(new ApolloGateway({ supergraphSdl: withEnforcedSecurityFeatures(supergraphSdl), logger: log }), () =>
        readAuthorizationPolicy(supergraphSdl),
      ),
      logger: log,
    });
    await apollo.start();
    t.after(() => apollo.stop());
    const ask = (principal: Principal) =>
      counted(async () => {
        const response = await apollo.executeOperation({ query: '{ users { id email } }' }, { contextValue: { principal } });
        assert.equal(response.body.kind, 'single');
        return JSON.parse(JSON.stringify(response.body.singleResult)) as ExecutionResult;
      });
    const support = await ask({ subject: 's1', customerId: null, scopes: ['support'] });
    assert.deepEqual(support.result.data, { users: USERS.map((u) => ({ id: u.id, email: u.email })) });
    assert.equal(support.result.errors, undefined);
    const customer = await ask({ subject: 'c1', customerId: 'c1', scopes: ['orders:write'] });
    assert.deepEqual(
      errorsOf(customer.result.errors).map((e) => e.path),
      [['users', 0, 'email']],
    );
    const orders = await counted(async () => {
      const response = await apollo.executeOperation(
        { query: '{ users { name orders { id } } }' },
        { contextValue: { principal: { subject: 'c1', customerId: 'c1', scopes: [] } } },
      );
      return response.body.kind === 'single' ? (JSON.parse(JSON.stringify(response.body.singleResult)) as ExecutionResult) : undefined;
    });
    assert.deepEqual(orders.result?.data, { users: USERS.map((u) => ({ name: u.name, orders: [{ id: 'o1' }] })) });
    assert.deepEqual(orders.requests, { accounts: 1, orders: 1 }, 'with a token, the orders subgraph is asked');
  });
});
