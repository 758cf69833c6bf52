/**
 * The corpus and its judge on their own, without a system: the corpus is as big and as broad as the
 * issue asks, and the judge catches what it must (a leak, a wrong code, an uncoded error, a timeout).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judge, leaksIn } from './check.ts';
import { buildCorpus } from './corpus.ts';
import type { HostileInput, Observation } from './types.ts';

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
      /controls\//,
    ])
      assert.match(names, pattern);
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

  test('accepts the documented answer, and any one of several', () => {
    assert.deepEqual(judge(input({ status: 400, code: 'BAD_REQUEST' }), seen({ status: 400, errors: [coded('BAD_REQUEST')] })), []);
    assert.deepEqual(judge(input([{ status: 413 }, { status: 400, code: ['A', 'B'] }]), seen({ status: 400, errors: [coded('B')] })), []);
    assert.deepEqual(judge(input({ close: [4400, 4401] }), seen({ close: { code: 4401, reason: 'Unauthorized' } })), []);
  });

  test('refuses a wrong status, code, limit or close, a 500, an uncoded error, a timeout', () => {
    assert.notDeepEqual(judge(input({ status: 400, code: 'X' }), seen({ status: 401, errors: [coded('X')] })), []);
    assert.notDeepEqual(judge(input({ code: 'X', limit: ['depth'] }), seen({ errors: [coded('X', { limit: 'aliases' })] })), []);
    assert.notDeepEqual(judge(input({ close: 4400 }), seen({ close: { code: 4500, reason: '' } })), []);
    assert.notDeepEqual(judge(input({ status: [400, 500] }), seen({ status: 500, errors: [coded('INTERNAL_SERVER_ERROR')] })), []);
    assert.notDeepEqual(judge(input({ status: 400 }), seen({ status: 400, errors: [{ message: 'no code' }] })), []);
    assert.notDeepEqual(judge(input({ status: 404 }), seen({ status: 404, texts: ['Cannot GET /x'] })), []);
    assert.notDeepEqual(judge(input({ ok: true, open: true }), seen({ data: true, close: { code: 1000, reason: '' } })), []);
    assert.deepEqual(judge(input({ status: 400 }), seen({ timedOut: true })), ['no answer within 1000 ms']);
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
});
