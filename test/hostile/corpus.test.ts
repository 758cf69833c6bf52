/**
 * The corpus and its judge on their own, without a system: the corpus is as big and as broad as the
 * issue asks, and the judge catches what it must (a leak, a wrong code, an uncoded error, a timeout).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judge, leaksIn } from './check.ts';
import { buildCorpus } from './corpus.ts';
import { productionInputs } from './production.ts';
import { SCENARIOS } from './scenarios.ts';
import type { Expectation, HostileInput, Observation } from './types.ts';

describe('the hostile-input corpus', () => {
  const corpus = buildCorpus();

  test('has at least 1,000 inputs over HTTP, WebSocket and SSE, uniquely named, each with a deadline', () => {
    assert.ok(corpus.length >= 1_000, `${corpus.length} inputs`);
    const transports = new Set(corpus.map((i) => i.request.transport));
    for (const t of ['http', 'ws', 'sse', 'tcp']) assert.ok(transports.has(t as never), `no ${t} input`);
    assert.equal(new Set(corpus.map((i) => i.name)).size, corpus.length, 'names are not unique');
    for (const input of corpus)
      assert.ok(input.deadlineMs > 0 && input.deadlineMs <= 10_000, `${input.name}: deadline ${input.deadlineMs}`);
  });

  test('covers every case the issue lists', () => {
    const names = corpus.map((i) => i.name).join('\n');
    for (const pattern of [
      /limits\/http\/aliases\/heavy\/1000$/m,
      /limits\/ws\/aliases\/subscription\//,
      /limits\/\w+\/fragment-bomb\//,
      /limits\/\w+\/fragment-chain\//,
      /limits\/\w+\/depth\//,
      /limits\/\w+\/root-fields\//,
      /limits\/\w+\/directives\//,
      /limits\/\w+\/tokens\//,
      /limits\/\w+\/body-bytes\//,
      /malformed-json\//,
      /content-type\/http\/charset\/latin1/,
      /content-type\/\w+\/encoding\/x-bogus/,
      /variables\/ws\/order-event-types\//,
      /operation-choice\/http\/several-named\//,
      /operation-choice\/http\/subscription-over-post\//,
      /credentials\/\w+\/expired/,
      /credentials\/\w+\/foreign-key/,
      /websocket-protocol\/server-only\//,
      /websocket-protocol\/duplicate-id/,
      /websocket-protocol\/before-init\//,
      /websocket-protocol\/oversize-frame\//,
      /websocket-protocol\/binary\//,
      /websocket-protocol\/origin\//,
      /sse\/unknown-token\//,
      /cursors\/\w+\/malformed\//,
      /cursors\/\w+\/ahead-of-log\//,
      /tcp\/header-control\//,
      /tcp\/declared-length\//,
      /tcp\/slow\//,
      /client-port\/metrics/,
      /client-port\/readyz/,
      /controls\//,
      // The 4500 case: errors of a query over WebSocket come as a result.
      /variables\/ws\/range\/customers-1000$/m,
      /operation-choice\/http\/several-unnamed\/2$/m,
      /operation-choice\/ws\/several-unnamed\/10$/m,
      /operation-choice\/sse\/several-unnamed\/100$/m,
      /limits\/ws\/aliases\/subscription-939kb$/m,
      /limits\/sse\/aliases\/subscription-939kb$/m,
      /websocket-protocol\/cap\/subscriptions-per-socket$/m,
      /websocket-protocol\/cap\/upstream-subscriptions-per-client$/m,
    ])
      assert.match(names, pattern);
    const scenarios = SCENARIOS.map((s) => s.name);
    for (const name of [
      'rate-limit/burst-from-one-address',
      'rate-limit/subscription-events',
      'sse/reservation-never-read-expires',
      'cap/websockets-per-client',
      'cap/sse-streams',
      'cap/sse-reservations',
      'subgraphs/called-without-the-gateway-signature',
      'production/switch',
    ])
      assert.ok(scenarios.includes(name), `no scenario ${name}`);
    const production = productionInputs().map((i) => i.name);
    for (const name of [
      'http/introspection',
      'ws/field-typo',
      'http/enum-variable-typo',
      'sse/enum-variable-typo',
      'playground',
      'undocumented-subgraph-error',
    ])
      assert.ok(production.includes(`production/${name}`), `no production input ${name}`);
  });

  test('every cap and limit refusal names the limit, so one cap cannot pass for another', () => {
    const expectations = (i: HostileInput) => [i.expect].flat() as Expectation[];
    for (const input of corpus.filter((i) => /\/cap\//.test(i.name)))
      for (const e of expectations(input)) assert.ok(e.limit && e.limit.length > 0, `${input.name}: no extensions.limit expected`);
    const bomb = corpus.find((i) => i.name === 'limits/ws/aliases/subscription-939kb')!;
    assert.ok(
      expectations(bomb).every((e) => e.limit?.includes('documentBytes')),
      'the 939 KB subscription: limit documentBytes',
    );
  });
});

describe('the judge', () => {
  const input = (expect: HostileInput['expect']): HostileInput => ({
    name: 'x',
    group: 'x',
    request: { transport: 'http' },
    expect,
    deadlineMs: 1_000,
  });
  const seen = (o: Partial<Observation>): Observation => ({ texts: [], errors: [], data: false, elapsedMs: 1, ...o });
  const coded = (code: string, extra: Record<string, unknown> = {}) => ({ message: 'm', extensions: { code, ...extra } });
  const refusedWith = (code: string | string[]): Expectation => ({ status: 400, code });

  test('accepts the documented answer, and any one of several', () => {
    assert.deepEqual(judge(input({ status: 400, code: 'BAD_REQUEST' }), seen({ status: 400, errors: [coded('BAD_REQUEST')] })), []);
    assert.deepEqual(judge(input([{ status: 413 }, { status: 400, code: ['A', 'B'] }]), seen({ status: 400, errors: [coded('B')] })), []);
    assert.deepEqual(judge(input({ close: [4400, 4401] }), seen({ close: { code: 4401, reason: 'Unauthorized' } })), []);
  });

  test('refuses a wrong status, code, limit or close, a 500, an uncoded error, a timeout', () => {
    assert.notDeepEqual(judge(input({ status: 400, code: 'X' }), seen({ status: 401, errors: [coded('X')] })), []);
    assert.notDeepEqual(judge(input({ code: 'X', limit: ['depth'] }), seen({ errors: [coded('X', { limit: 'aliases' })] })), []);
    assert.notDeepEqual(judge(input({ close: 4400 }), seen({ close: { code: 4500, reason: '' } })), []);
    assert.notDeepEqual(
      judge(
        input({ code: ['CAPACITY_EXCEEDED'], limit: ['upstreamSubscriptionsPerClient'] }),
        seen({ errors: [coded('CAPACITY_EXCEEDED', { limit: 'subscriptionsPerSocket' })] }),
      ),
      [],
      'one cap passing for another',
    );
    assert.notDeepEqual(judge(input({ status: [400, 500] }), seen({ status: 500, errors: [coded('INTERNAL_SERVER_ERROR')] })), []);
    assert.notDeepEqual(judge(input({ status: 400 }), seen({ status: 400, errors: [{ message: 'no code' }] })), []);
    assert.notDeepEqual(judge(input({ status: 404 }), seen({ status: 404, texts: ['Cannot GET /x'] })), []);
    assert.notDeepEqual(judge(input({ ok: true, open: true }), seen({ data: true, close: { code: 1000, reason: '' } })), []);
    assert.deepEqual(judge(input({ status: 400 }), seen({ timedOut: true })), ['no answer within 1000 ms']);
  });

  test('refuses an error of a code not expected beside one expected, and an undocumented INTERNAL_SERVER_ERROR', () => {
    const both = seen({ status: 400, errors: [coded('BAD_USER_INPUT'), coded('INTERNAL_SERVER_ERROR')] });
    assert.notDeepEqual(judge(input(refusedWith('BAD_USER_INPUT')), both), []);
    assert.deepEqual(judge(input(refusedWith(['BAD_USER_INPUT', 'INTERNAL_SERVER_ERROR'])), both), []);
    assert.deepEqual(
      judge(input(refusedWith('BAD_USER_INPUT')), seen({ status: 400, errors: [coded('BAD_USER_INPUT'), coded('BAD_USER_INPUT')] })),
      [],
    );
    // An expectation without codes (a status, a close) does not make INTERNAL_SERVER_ERROR acceptable.
    assert.notDeepEqual(judge(input({ status: 200 }), seen({ status: 200, errors: [coded('INTERNAL_SERVER_ERROR')] })), []);
    assert.notDeepEqual(
      judge(input({ close: 4400 }), seen({ close: { code: 4400, reason: '' }, errors: [coded('INTERNAL_SERVER_ERROR')] })),
      [],
    );
  });

  test('checks the head of a response for leaks too', () => {
    const head = 'HTTP/1.1 400 Bad Request\r\nX-Debug: Error at Object.<anonymous> (/app/gateway/src/server.ts:12:3)';
    assert.notDeepEqual(judge(input({ status: 400, code: 'X' }), seen({ status: 400, head, errors: [coded('X')] })), []);
    const clean =
      'HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\nwww-authenticate: Bearer error="invalid_token"';
    assert.deepEqual(judge(input({ status: 400, code: 'X' }), seen({ status: 400, head: clean, errors: [coded('X')] })), []);
    assert.notDeepEqual(
      judge(input({ status: 200, excludes: [/https?:\/\//] }), seen({ status: 200, head: 'HTTP/1.1 200 OK\r\nLink: <http://x.example/>' })),
      [],
    );
  });

  test('finds stack traces and paths in any answer, and not in ordinary messages', () => {
    assert.deepEqual(leaksIn(['Error: boom\n    at Object.<anonymous> (/work/main/gateway/src/server.ts:12:3)']).length > 0, true);
    assert.ok(leaksIn(['{"supergraph":"/srv/app/schema/supergraph.graphql"}']).includes('absolute path'));
    assert.ok(leaksIn(['at file:///app/x.js:1:1']).length > 0);
    assert.ok(leaksIn(['<!DOCTYPE html><pre>TypeError</pre>']).length > 0);
    assert.deepEqual(
      leaksIn(['{"errors":[{"message":"Syntax Error: Expected Name, found <EOF>.","extensions":{"code":"GRAPHQL_PARSE_FAILED"}}]}']),
      [],
    );
    assert.deepEqual(leaksIn(['malformed JSON body: Unexpected end of JSON input at position 12 (line 1 column 13)']), []);
    assert.deepEqual(leaksIn(['subscriptions run over Server-Sent Events on /graphql/stream']), []);
    assert.deepEqual(judge(input({ status: 200 }), seen({ status: 200, texts: ['node_modules/x'] })), ['leaks: node_modules']);
  });

  test('finds Windows paths, node internals, container and system paths', () => {
    for (const [text, leak] of [
      ['{"message":"C:\\\\work\\\\main\\\\gateway\\\\src\\\\server.ts"}', 'Windows path'],
      ['C:\\work\\main\\gateway\\src\\server.ts', 'Windows path'],
      ['D:/build/gateway/main.js', 'Windows path'],
      ['node:internal/process/task_queues:95:5', 'node internals'],
      ['    at node:internal/main/run_main_module', 'stack frame'],
      ['Error: x\\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)', 'node internals'],
      ['node:events:497:28', 'node internals'],
      ['{"supergraph":"/app/schema/supergraph.graphql"}', 'project path'],
      ['cannot open /app/data', 'project path'],
      ['relation at /var/lib/postgresql failed', 'project path'],
    ] as const)
      assert.ok(leaksIn([text]).includes(leak), `${text}: ${leaksIn([text]).join(',') || 'no leak found'}, expected ${leak}`);
    for (const text of [
      'expected one of: application/json',
      'Cannot query field "app" on type "Query".',
      'the value at path "a:b" is not valid',
      'https://shop.example/app/cart',
      'Expected Name, found ":".',
      'Variable "$s" got invalid value "C:"; expected type "OrderStatus".',
      'a "node" is not an internal type',
    ])
      assert.deepEqual(leaksIn([text]), [], text);
  });

  test('finds the internal URLs of the system, but not the public URL of the gateway nor an origin a client sent', () => {
    const publicUrl = 'http://127.0.0.1:4000';
    for (const text of [
      '{"subgraphs":[{"name":"customers","url":"http://127.0.0.1:4001/graphql"}]}',
      'fetch failed: http://localhost:4101/graphql',
      'ws://127.0.0.1:4103/graphql closed',
      'http://customers-subgraph:4101/graphql',
      'http://10.0.3.7:8080/x',
      'http://[::1]:4102/graphql',
    ])
      assert.ok(leaksIn([text], publicUrl).includes('internal URL'), text);
    for (const text of [
      'the playground is at http://127.0.0.1:4000/graphql',
      'subscribe at ws://127.0.0.1:4000/graphql',
      'origin "http://127.0.0.1" is not allowed to open a WebSocket here',
      'origin "https://shop.example:444" is not allowed to open a WebSocket here',
      'origin "http://localhost" is not allowed',
    ])
      assert.deepEqual(leaksIn([text], publicUrl), [], text);
  });
});
