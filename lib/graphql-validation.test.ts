import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GraphQLError, buildSchema } from 'graphql';
import type { Context, SubscribePayload } from 'graphql-ws';
import { codedParse, codedValidate, withCodedOperationErrors } from './graphql-validation.ts';

const schema = buildSchema('type Query { customers: [String] }');
const ctx = {} as Context<Record<string, unknown> | undefined, unknown>;
const codes = (errors: readonly { extensions?: Record<string, unknown> }[]) => errors.map((e) => e.extensions?.['code']);

describe('coded parse and validation errors', () => {
  test('a syntax error is GRAPHQL_PARSE_FAILED', () => {
    const result = codedParse('{');
    assert.ok(result instanceof GraphQLError);
    assert.equal(result.extensions['code'], 'GRAPHQL_PARSE_FAILED');
  });

  test('validation errors are GRAPHQL_VALIDATION_FAILED, with or without suggestions and introspection', () => {
    const open = codedValidate({ introspection: true, hideSuggestions: false });
    const closed = codedValidate({ introspection: false, hideSuggestions: true });
    const typo = codedParse('{ custmers }');
    assert.ok(!(typo instanceof GraphQLError));
    assert.match(open(schema, typo)[0]!.message, /Did you mean "customers"\?/);
    assert.doesNotMatch(closed(schema, typo)[0]!.message, /Did you mean/);
    assert.deepEqual(codes(closed(schema, typo)), ['GRAPHQL_VALIDATION_FAILED']);
    const introspection = codedParse('{ __schema { types { name } } }');
    assert.ok(!(introspection instanceof GraphQLError));
    assert.deepEqual(open(schema, introspection), []);
    const refused = codes(closed(schema, introspection));
    assert.ok(refused.length > 0 && refused.every((code) => code === 'GRAPHQL_VALIDATION_FAILED'), String(refused));
  });

  test('graphql-ws subscribe messages: coded errors for bad documents, arguments for good ones, a code on every error sent', async () => {
    const options = withCodedOperationErrors({ schema });
    const subscribe = (payload: SubscribePayload) => options.onSubscribe!(ctx, '1', payload);
    assert.deepEqual(codes((await subscribe({ query: '{' })) as GraphQLError[]), ['GRAPHQL_PARSE_FAILED']);
    assert.deepEqual(codes((await subscribe({ query: '{ nope }' })) as GraphQLError[]), ['GRAPHQL_VALIDATION_FAILED']);
    assert.deepEqual(codes((await subscribe({ query: 'query A { customers } query B { customers }' })) as GraphQLError[]), ['BAD_REQUEST']);
    const args = (await subscribe({ query: 'query A { customers } query B { customers }', operationName: 'B' })) as {
      operationName: string;
    };
    assert.equal(args.operationName, 'B');
    const sent = await options.onError!(ctx, '1', { query: '{ customers }' }, [
      new GraphQLError('Cannot read properties of undefined (reading x) at /srv/app/x.ts:3'),
      new GraphQLError('gone', { extensions: { code: 'NOT_FOUND' } }),
    ]);
    assert.deepEqual(sent, [
      { message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      { message: 'gone', extensions: { code: 'NOT_FOUND' } },
    ]);
  });
});
