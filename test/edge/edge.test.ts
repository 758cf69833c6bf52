/**
 * The gateway's edge, against a real gateway process whose subgraphs are one fake HTTP server of
 * this test's (it answers every subgraph request with the error the test chooses): the ops
 * listener, slow clients over raw sockets, a declared Content-Length over the limit, coded errors
 * for malformed input over HTTP, graphql-ws and graphql-sse, and the production switch (also for the
 * events of a subscription, on a gateway in this process on the edge tests' ticks subgraph).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { startChild, type Child } from '../../lib/supervisor.ts';
import { devAuth } from '../../scripts/dev-auth.ts';
import { operatorHeaders, postGraphQL } from '../support/graphql.ts';
import { temporaryDataDir } from '../support/data-dir.ts';
import { ProtocolClient, type NextPayload } from '../subscriptions/support.ts';
import { TEST_IDENTITY_SECRET } from '../support/identity.ts';
import { EventStream } from '../support/sse.ts';
import { waitFor } from '../support/wait.ts';
import { startEdgeGateway, startTicksSubgraph, TICK_DETAIL_ERROR, type EdgeGateway, type TicksSubgraph } from './support.ts';

const EDGE_TEST = { timeout: 120_000 };
/** Anything that looks like a stack frame or a file path. */
const LEAK = /\bat \S+ \(|\.ts:\d+|\/(?:work|home|app|usr|var|tmp)\//;

interface FakeSubgraph {
  url: string;
  /** The error every subgraph request gets. */
  error: { message: string; extensions: { code: string } & Record<string, unknown> };
  close(): Promise<void>;
}

async function startFakeSubgraph(): Promise<FakeSubgraph> {
  const fake: FakeSubgraph = { url: '', error: { message: 'not found', extensions: { code: 'NOT_FOUND' } }, close: async () => {} };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: null, errors: [fake.error] }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  fake.url = `http://127.0.0.1:${port}/graphql`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}

function startGateway(fake: FakeSubgraph, env: Record<string, string>): Promise<Child<'http' | 'ops'>> {
  return startChild({
    name: 'gateway',
    entry: 'gateway/src/main.ts',
    env: {
      LOG_LEVEL: 'silent',
      PORT: '0',
      OPS_PORT: '0',
      IDENTITY_SECRET: TEST_IDENTITY_SECRET,
      SUBGRAPH_URLS: ['customers', 'catalog', 'orders'].map((name) => `${name}=${fake.url}`).join(','),
      ...env,
    },
    listeners: ['http', 'ops'],
  });
}

/** Sends `head` on a raw socket (then `trickle` every 50 ms until the server closes) and returns all the server said. */
async function raw(port: number, head: string, trickle?: string): Promise<string> {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (answer += chunk));
  socket.on('error', () => {}); // a reset after the answer is fine
  socket.write(head);
  const timer = trickle ? setInterval(() => socket.writable && socket.write(trickle), 50) : undefined;
  await Promise.race([once(socket, 'close'), once(socket, 'end')]);
  clearInterval(timer);
  socket.destroy();
  return answer;
}

const body = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { errors: { extensions: { code: string } }[] };

describe('the edge of a gateway (small limits and timeouts)', () => {
  let fake: FakeSubgraph;
  let gateway: Child<'http' | 'ops'>;
  let base: string;
  before(async () => {
    fake = await startFakeSubgraph();
    gateway = await startGateway(fake, { HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '600', BODY_LIMIT_BYTES: '10000' });
    base = `http://127.0.0.1:${gateway.ports.http}`;
  }, EDGE_TEST);
  after(async () => {
    await gateway?.stop();
    await fake?.close();
  });

  test('the client port says only whether it is ready; metrics and details are on the ops listener', EDGE_TEST, async () => {
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });
    assert.equal((await fetch(`${base}/metrics`)).status, 404);
    const ops = `http://127.0.0.1:${gateway.ports.ops}`;
    const details = (await (await fetch(`${ops}/readyz`)).json()) as { ready: boolean; supergraph: { source: string; hash: string } };
    assert.equal(details.ready, true);
    assert.match(details.supergraph.source, /supergraph\.graphql$/);
    assert.match(details.supergraph.hash, /^[0-9a-f]{64}$/);
    assert.match(await (await fetch(`${ops}/metrics`)).text(), /^gateway_subscriptions_active 0$/m);
  });

  test('a client that resets the connection as its WebSocket upgrade is refused does not take the gateway down', EDGE_TEST, async () => {
    const upgrade = (path: string) =>
      `GET ${path} HTTP/1.1\r\nHost: gateway\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`;
    for (let i = 0; i < 50; i++) {
      const socket = connect(gateway.ports.http, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      // A wrong path and a handshake without its key: both refused by the gateway, not by `ws`.
      socket.write(i % 2 === 0 ? upgrade('/nope') : upgrade('/graphql').replace(/Sec-WebSocket-Key: .*\r\n/, ''));
      socket.resetAndDestroy();
    }
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200, 'the gateway still answers');
  });

  test('a declared Content-Length over the limit gets 413 before a byte of the body is sent', EDGE_TEST, async () => {
    const answer = await raw(
      gateway.ports.http,
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.equal(body(answer).errors[0]?.extensions.code, 'PAYLOAD_TOO_LARGE');
  });

  test(
    'a chunked body (no Content-Length) over the limit never gets past the limit: refused, or cut at the request timeout',
    EDGE_TEST,
    async () => {
      // body-parser reads (and discards) the rest of a JSON body over its limit before answering, so
      // an endless one is cut by REQUEST_TIMEOUT_MS; graphql-sse's text bodies are cut at the limit.
      for (const [path, type, status] of [
        ['/graphql', 'application/json', /^HTTP\/1\.1 (408|413) /],
        ['/graphql/stream', 'text/plain', /^HTTP\/1\.1 4\d\d [^]*"code":"BAD_REQUEST"/],
      ] as const) {
        const chunk = 'x'.repeat(20_000);
        const answer = await raw(
          gateway.ports.http,
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nAccept: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`,
          `400\r\n${'y'.repeat(1024)}\r\n`,
        );
        assert.match(answer, status, `${path}: ${answer.slice(0, 200)}`);
        assert.doesNotMatch(answer, LEAK);
      }
    },
  );

  test('a client that trickles its headers is cut with 408, on the client port and the ops listener alike', EDGE_TEST, async () => {
    for (const port of [gateway.ports.http, gateway.ports.ops]) {
      const answer = await raw(port, 'GET /readyz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: y\r\n');
      assert.match(answer, /^HTTP\/1\.1 408 /, `port ${port}`);
    }
  });

  test('a client that trickles its body is cut with 408', EDGE_TEST, async () => {
    const answer = await raw(
      gateway.ports.http,
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{',
      ' ',
    );
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });

  test('malformed input over HTTP gets coded 4xx answers without stack traces or paths', EDGE_TEST, async () => {
    const cases: { headers: Record<string, string>; body: string }[] = [
      { headers: { 'content-type': 'application/json' }, body: '{' },
      { headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' },
      { headers: { 'content-type': 'application/json', 'content-encoding': 'bogus' }, body: '{}' },
      { headers: { 'content-type': 'application/json' }, body: '{"query":"{"}' },
      { headers: { 'content-type': 'application/json' }, body: '{"query":"{ nope }"}' },
      { headers: { 'content-type': 'application/json' }, body: 'x'.repeat(20_000) },
    ];
    for (const path of ['/graphql', '/graphql/stream']) {
      for (const c of cases) {
        const response = await fetch(`${base}${path}`, { method: 'POST', headers: c.headers, body: c.body });
        const text = await response.text();
        assert.ok(response.status >= 400 && response.status < 500, `${path} ${c.body.slice(0, 20)}: ${response.status} ${text}`);
        assert.doesNotMatch(text, LEAK);
        const { errors } = JSON.parse(text) as { errors: { extensions?: { code?: string } }[] };
        assert.ok(errors.length > 0 && errors.every((e) => typeof e.extensions?.code === 'string'), `${path}: ${text}`);
      }
    }
  });

  test('graphql-sse refusals carry codes: a bad query, an unknown stream token, no body', EDGE_TEST, async () => {
    const sse = `${base}/graphql/stream`;
    const answers = [
      await fetch(sse, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: '{"query":"{"}',
      }),
      await fetch(`${sse}?query=${encodeURIComponent('{ __typename')}`, { headers: { accept: 'text/event-stream' } }),
      await fetch(sse, { headers: { 'x-graphql-event-stream-token': 'nope', accept: 'text/event-stream' } }),
      await fetch(sse, { method: 'DELETE', headers: { 'x-graphql-event-stream-token': 'nope' } }),
      await fetch(sse, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"query A { __typename } query B { __typename }"}',
      }),
    ];
    const codes = [];
    for (const answer of answers) {
      const text = await answer.text();
      assert.ok(answer.status >= 400 && answer.status < 500, `${answer.status} ${text}`);
      assert.doesNotMatch(text, LEAK);
      const { errors } = JSON.parse(text) as { errors: { extensions: { code: string } }[] };
      codes.push(errors.map((e) => e.extensions.code));
    }
    assert.deepEqual(codes[0], ['GRAPHQL_PARSE_FAILED']);
    assert.ok(codes.every((c) => c.length > 0));
  });

  test('over graphql-ws a bad query gets a coded error message and the socket stays open', EDGE_TEST, async (t) => {
    const client = await ProtocolClient.connect(`ws://127.0.0.1:${gateway.ports.http}/graphql`);
    t.after(() => client.close());
    const cases: [string, string][] = [
      ['{', 'GRAPHQL_PARSE_FAILED'],
      ['{ custmers { id } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['subscription { orderEvents(types: ["NOPE"]) { cursor } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['query A { __typename } query B { __typename }', 'BAD_REQUEST'],
    ];
    for (const [i, [query, code]] of cases.entries()) {
      client.subscribe(`q${i}`, query);
      const message = await client.take((m) => m.id === `q${i}`, `the answer to ${query}`);
      assert.equal(message.type, 'error', JSON.stringify(message));
      const errors = message.payload as { message: string; extensions: { code: string } }[];
      assert.deepEqual(
        errors.map((e) => e.extensions.code),
        errors.map(() => code),
      );
      assert.doesNotMatch(JSON.stringify(errors), LEAK);
    }
    // Suggestions are on when PRODUCTION is off.
    client.subscribe('typo', '{ custmers { id } }');
    const typo = await client.take((m) => m.id === 'typo', 'the typo');
    assert.match(JSON.stringify(typo.payload), /Did you mean/);
    await client.ping();
    assert.ok(client.open);
  });
});

describe('protocol violations over graphql-ws', () => {
  let fake: FakeSubgraph;
  let gateway: Child<'http' | 'ops'>;
  before(async () => {
    fake = await startFakeSubgraph();
    gateway = await startGateway(fake, {});
  }, EDGE_TEST);
  after(async () => {
    await gateway?.stop();
    await fake?.close();
  });

  for (const [what, message] of [
    ['text that is not JSON', 'not json'],
    ['a message without a type', '{"id":"1"}'],
    ['a subscribe without an id', '{"type":"subscribe","payload":{"query":"{ __typename }"}}'],
    ['a subscribe whose query is not a string', '{"id":"1","type":"subscribe","payload":{"query":{"a":1}}}'],
    ['a message only a server sends', '{"id":"1","type":"next","payload":{}}'],
  ] as const) {
    test(`${what} closes the socket with 4400 and a reason without stack traces or paths`, EDGE_TEST, async (t) => {
      const client = await ProtocolClient.connect(`ws://127.0.0.1:${gateway.ports.http}/graphql`);
      t.after(() => client.close());
      client.send(message);
      const closed = await client.whenClosed(30_000);
      assert.equal(closed.code, 4400, JSON.stringify(closed));
      assert.doesNotMatch(closed.reason, LEAK);
    });
  }
});

describe('the production switch', () => {
  let fake: FakeSubgraph;
  let gateway: Child<'http' | 'ops'>;
  let base: string;
  let removeDataDir: (() => unknown) | undefined;
  /** An operator's token: authorization, which comes first, lets its operations through to variable coercion. */
  let operator: Record<string, string>;
  before(async () => {
    fake = await startFakeSubgraph();
    const auth = await devAuth(await temporaryDataDir({ after: (remove) => (removeDataDir = remove) }));
    operator = await operatorHeaders(auth);
    // INTROSPECTION and PLAYGROUND say yes; PRODUCTION wins.
    gateway = await startGateway(fake, {
      PRODUCTION: 'true',
      INTROSPECTION: 'true',
      PLAYGROUND: 'true',
      JWKS_FILE: auth.jwksFile,
      JWT_ISSUER: auth.issuer,
      JWT_AUDIENCE: auth.audience,
    });
    base = `http://127.0.0.1:${gateway.ports.http}`;
  }, EDGE_TEST);
  after(async () => {
    await gateway?.stop();
    await fake?.close();
    await removeDataDir?.();
  });

  const undocumented = { message: 'relation "customers" at /var/lib/postgresql failed', extensions: { code: 'SQL_ERROR' } };
  const QUERY = '{ customers(first: 1) { id } }';

  test('an undocumented subgraph error is masked over HTTP, graphql-ws and SSE; a documented one is not', EDGE_TEST, async (t) => {
    fake.error = undocumented;
    const http = await postGraphQL(`${base}/graphql`, QUERY);
    const client = await ProtocolClient.connect(`ws://127.0.0.1:${gateway.ports.http}/graphql`);
    t.after(() => client.close());
    const [ws] = await client.execute('q', QUERY);
    const sse = await fetch(`${base}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: QUERY }),
    });
    const sseText = await sse.text();
    const sseNext = JSON.parse(/^data: (.+)$/m.exec(sseText)![1]!) as { errors: { message: string; extensions: { code: string } }[] };
    for (const errors of [http.body.errors, ws?.errors, sseNext.errors]) {
      assert.ok(errors && errors.length > 0, JSON.stringify(errors));
      for (const error of errors) {
        assert.equal(error.extensions?.['code'] ?? error.extensions?.code, 'INTERNAL_SERVER_ERROR', JSON.stringify(error));
        assert.doesNotMatch(error.message, /postgres|SQL/);
      }
    }

    fake.error = { message: 'customer c999 does not exist', extensions: { code: 'NOT_FOUND' } };
    const documented = await postGraphQL(`${base}/graphql`, QUERY);
    assert.ok(
      documented.body.errors?.some((e) => e.message === 'customer c999 does not exist' && e.extensions?.['code'] === 'NOT_FOUND'),
      JSON.stringify(documented.body),
    );
  });

  test('a documented subgraph error keeps only the documented extensions, and a message naming a path is withheld', EDGE_TEST, async () => {
    fake.error = {
      message: 'quantity must be at least 1',
      extensions: { code: 'BAD_USER_INPUT', stacktrace: ['at foo (/srv/app/x.ts:3:4)'], sql: 'SELECT * FROM customers' },
    };
    const chatty = await postGraphQL(`${base}/graphql`, QUERY);
    assert.deepEqual(
      chatty.body.errors?.[0]?.extensions,
      { code: 'BAD_USER_INPUT', serviceName: 'customers' },
      JSON.stringify(chatty.body),
    );
    assert.equal(chatty.body.errors?.[0]?.message, 'quantity must be at least 1');

    fake.error = { message: 'no row in /var/lib/postgresql/data/base', extensions: { code: 'NOT_FOUND' } };
    const withPath = await postGraphQL(`${base}/graphql`, QUERY);
    assert.equal(withPath.body.errors?.[0]?.extensions?.['code'], 'NOT_FOUND', JSON.stringify(withPath.body));
    assert.doesNotMatch(JSON.stringify(withPath.body), LEAK);
  });

  for (const [what, query, variables, overHttp] of [
    ['an unknown enum value', 'query Orders($s: OrderStatus) { orders(status: $s) { id } }', { s: 'SHIPED' }, true],
    [
      'an unknown input field',
      'mutation Place($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }',
      { i: { customerId: 'c1', lines: [], line: [] } },
      true,
    ],
    [
      'an unknown enum value in a subscription',
      'subscription Events($t: [OrderEventType!]) { orderEvents(types: $t) { cursor } }',
      { t: ['PLACE'] },
      false,
    ],
  ] as const) {
    test(
      `a variable with ${what} gets BAD_USER_INPUT without "Did you mean" over ${overHttp ? 'HTTP, ' : ''}graphql-ws and SSE`,
      EDGE_TEST,
      async (t) => {
        const answers: { transport: string; errors: { message: string; extensions?: Record<string, unknown> }[] | undefined }[] = [];
        if (overHttp)
          answers.push({ transport: 'HTTP', errors: (await postGraphQL(`${base}/graphql`, query, variables, operator)).body.errors });

        const client = await ProtocolClient.connect(`ws://127.0.0.1:${gateway.ports.http}/graphql`, operator);
        t.after(() => client.close());
        client.subscribe('v', query, variables);
        const message = await client.take((m) => m.id === 'v' && (m.type === 'next' || m.type === 'error'), 'the answer');
        const payload = message.payload as NextPayload | NextPayload['errors'];
        answers.push({ transport: 'graphql-ws', errors: Array.isArray(payload) ? payload : payload?.errors });

        const stream = await EventStream.post(`${base}/graphql/stream`, { query, variables }, operator);
        t.after(() => stream.close());
        await stream.untilEnded(30_000);
        answers.push({ transport: 'SSE', errors: stream.nexts()[0]?.errors });

        for (const { transport, errors } of answers) {
          assert.ok(errors?.length, `${transport}: ${JSON.stringify(errors)}`);
          assert.ok(
            errors.every((e) => e.extensions?.['code'] === 'BAD_USER_INPUT'),
            `${transport}: ${JSON.stringify(errors)}`,
          );
          assert.match(errors[0]!.message, /SHIPED|"line"|PLACE/, transport);
          assert.doesNotMatch(JSON.stringify(errors), /Did you mean/, transport);
        }
      },
    );
  }

  test('no introspection, no suggestions, no playground', EDGE_TEST, async (t) => {
    const introspection = await postGraphQL(`${base}/graphql`, '{ __schema { types { name } } }');
    assert.equal(introspection.status, 400);
    assert.equal(introspection.body.errors?.[0]?.extensions?.['code'], 'GRAPHQL_VALIDATION_FAILED');
    const typo = await postGraphQL(`${base}/graphql`, '{ custmers { id } }');
    assert.ok(typo.body.errors?.length, JSON.stringify(typo.body));
    assert.doesNotMatch(JSON.stringify(typo.body), /Did you mean/);

    const client = await ProtocolClient.connect(`ws://127.0.0.1:${gateway.ports.http}/graphql`);
    t.after(() => client.close());
    for (const [id, query] of [
      ['schema', '{ __schema { types { name } } }'],
      ['typo', '{ custmers { id } }'],
    ]) {
      client.subscribe(id!, query!);
      const message = await client.take((m) => m.id === id, id!);
      assert.equal(message.type, 'error');
      assert.doesNotMatch(JSON.stringify(message.payload), /Did you mean/);
      assert.equal((message.payload as { extensions: { code: string } }[])[0]?.extensions.code, 'GRAPHQL_VALIDATION_FAILED');
    }

    const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
    assert.match(page.headers.get('content-type') ?? '', /^text\/plain/);
    assert.doesNotMatch(await page.text(), /playground/);
  });
});

describe('errors in the events of a subscription', () => {
  let subgraph: TicksSubgraph;
  let production: EdgeGateway;
  let development: EdgeGateway;
  before(async () => {
    subgraph = await startTicksSubgraph();
    production = await startEdgeGateway(subgraph, { PRODUCTION: 'true' });
    development = await startEdgeGateway(subgraph);
  }, EDGE_TEST);
  after(async () => {
    await production?.stop();
    await development?.stop();
    await subgraph?.stop();
  });

  const DETAIL = 'subscription Detail($topic: String!) { ticks(topic: $topic) { n detail } }';

  /** The first event of a subscription to `topic` over graphql-ws and over SSE, once the subgraph sent one. */
  async function firstEvents(gateway: EdgeGateway, topic: string, t: { after(fn: () => unknown): void }): Promise<NextPayload[]> {
    const client = await ProtocolClient.connect(gateway.wsUrl);
    t.after(() => client.close());
    client.subscribe('d', DETAIL, { topic: `${topic}-ws` });
    const stream = await EventStream.post(`${gateway.baseUrl}/graphql/stream`, { query: DETAIL, variables: { topic: `${topic}-sse` } });
    t.after(() => stream.close());
    await waitFor(
      () => subgraph.listeners(`${topic}-ws`) === 1 && subgraph.listeners(`${topic}-sse`) === 1,
      30_000,
      'the subscriptions never reached the subgraph',
    );
    subgraph.tick(`${topic}-ws`, 1);
    subgraph.tick(`${topic}-sse`, 1);
    const ws = await client.take((m) => m.id === 'd' && m.type === 'next', 'the event over graphql-ws');
    await waitFor(() => stream.nexts().length > 0, 30_000, 'no event over SSE');
    return [ws.payload as NextPayload, stream.nexts()[0]!];
  }

  test("in production, a subgraph's undocumented error in an event is masked over graphql-ws and SSE", EDGE_TEST, async (t) => {
    for (const event of await firstEvents(production, 'production', t)) {
      assert.deepEqual(event, {
        data: { ticks: { n: 1, detail: null } },
        errors: [{ message: 'internal error', path: ['ticks', 'detail'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
      });
    }
  });

  test("outside production, the subgraph's error keeps its code and extensions, but not its stack trace or path", EDGE_TEST, async (t) => {
    const { stacktrace: _stacktrace, ...extensions } = TICK_DETAIL_ERROR.extensions;
    for (const event of await firstEvents(development, 'development', t)) {
      assert.deepEqual(event.data, { ticks: { n: 1, detail: null } });
      assert.deepEqual(event.errors?.[0]?.extensions, { ...extensions, serviceName: 'ticks' });
      assert.doesNotMatch(JSON.stringify(event), LEAK);
    }
  });
});
