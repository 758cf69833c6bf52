import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GraphQLError } from 'graphql';
import { createLogger } from '../../lib/logger.ts';
import { edgePolicy, maskResult, maskUndocumented } from './production.ts';

const log = createLogger('test', 'silent');

describe('the production switch', () => {
  test('wins over INTROSPECTION and PLAYGROUND; without it they decide', () => {
    assert.deepEqual(edgePolicy({ PRODUCTION: true, INTROSPECTION: true, PLAYGROUND: true }), {
      introspection: false,
      playground: false,
      hideSuggestions: true,
      maskErrors: true,
    });
    assert.deepEqual(edgePolicy({ PRODUCTION: false, INTROSPECTION: true, PLAYGROUND: false }), {
      introspection: true,
      playground: false,
      hideSuggestions: false,
      maskErrors: false,
    });
  });

  test('masks errors whose code is undocumented, missing or INTERNAL_SERVER_ERROR, and keeps documented ones', () => {
    const format = maskUndocumented(log);
    const masked = { message: 'internal error', path: ['a'], extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    assert.deepEqual(format({ message: 'ECONNREFUSED 10.0.0.7:5432', path: ['a'], extensions: { code: 'DB_DOWN' } }, undefined), masked);
    assert.deepEqual(format({ message: 'at /srv/app/x.ts:3', path: ['a'] }, undefined), masked);
    assert.deepEqual(
      format({ message: 'TypeError: x is undefined', path: ['a'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, undefined),
      masked,
    );
    for (const code of ['NOT_FOUND', 'UNAUTHORIZED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'PERSISTED_QUERY_NOT_FOUND']) {
      const kept = { message: 'said on purpose', extensions: { code } };
      assert.deepEqual(format(kept, undefined), kept);
    }
  });

  test('masks the errors of subscription results the same way, and leaves results without them alone', () => {
    const mask = maskResult(log);
    const clean = { data: { a: 1 } };
    assert.equal(mask(clean), clean);
    const result = mask({
      data: null,
      errors: [
        new GraphQLError('relation "orders" at /var/lib/pg', { path: ['orderEvents'], extensions: { code: 'SQL_ERROR' } }),
        new GraphQLError('cursor expired', { path: ['orderEvents'], extensions: { code: 'CURSOR_EXPIRED' } }),
      ],
    });
    assert.deepEqual(
      result.errors?.map((e) => e.toJSON()),
      [
        { message: 'internal error', path: ['orderEvents'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
        { message: 'cursor expired', path: ['orderEvents'], extensions: { code: 'CURSOR_EXPIRED' } },
      ],
    );
  });
});
