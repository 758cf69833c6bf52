/** Subscriptions that a reload overtakes between their validation and their start. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSchema, parse, validate, type ExecutionResult } from 'graphql';
import { onServedSchema, type OperationArgs, type OperationHandlers } from './operations.ts';

const before = buildSchema('type Query { a: Int } type Subscription { ticks: Int, gone: Int }');
const after = buildSchema('type Query { a: Int } type Subscription { ticks: Int }');

function setUp() {
  const subscribed: OperationArgs[] = [];
  const handlers: OperationHandlers = {
    execute: () => Promise.resolve({ data: {} }),
    subscribe: (args) => {
      subscribed.push(args);
      return { data: { ok: true } };
    },
  };
  let served = before;
  const operations = onServedSchema(handlers, () => served, validate);
  return { subscribed, operations, reload: () => (served = after) };
}

describe('subscriptions on the served supergraph', { timeout: 10_000 }, () => {
  test('one validated before a reload, selecting what the reload removed, gets the served schema’s errors and never subscribes', () => {
    const { subscribed, operations, reload } = setUp();
    const document = parse('subscription { gone }');
    reload();
    const result = operations.subscribe({ document, schema: before }) as ExecutionResult;
    assert.equal(subscribed.length, 0);
    assert.match(result.errors?.[0]?.message ?? '', /Cannot query field "gone" on type "Subscription"/);
  });

  test('one validated before a reload that still applies subscribes, on the served schema', () => {
    const { subscribed, operations, reload } = setUp();
    reload();
    operations.subscribe({ document: parse('subscription { ticks }'), schema: before });
    assert.equal(subscribed[0]?.schema, after);
  });

  test('one validated on the served schema subscribes as it is', () => {
    const { subscribed, operations } = setUp();
    operations.subscribe({ document: parse('subscription { gone }'), schema: before });
    assert.equal(subscribed.length, 1);
  });
});
