import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { createLogger } from '../../lib/logger.ts';
import { clientErrorFormat, clientResults, edgePolicy, leaksInternals, PRODUCTION_CODES, WITHHELD_MESSAGE } from './production.ts';

const log = createLogger('test', 'silent');
const production = clientErrorFormat({ hideSuggestions: true, maskErrors: true }, log);
const development = clientErrorFormat({ hideSuggestions: false, maskErrors: false }, log);
const formatted = (error: GraphQLFormattedError) => production(error, undefined);

/** What a subgraph may send with a registered code: its stack and its query among the extensions. */
const chatty = {
  message: 'quantity must be at least 1',
  path: ['placeOrder'],
  extensions: {
    code: 'BAD_USER_INPUT',
    serviceName: 'orders',
    argument: 'input.lines.quantity',
    stacktrace: ['at foo (/srv/app/x.ts:3:4)'],
    exception: { stacktrace: ['at foo (/srv/app/x.ts:3:4)'] },
    sql: 'SELECT * FROM orders',
  },
};

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
    const masked = { message: 'internal error', path: ['a'], extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    assert.deepEqual(formatted({ message: 'ECONNREFUSED 10.0.0.7:5432', path: ['a'], extensions: { code: 'DB_DOWN' } }), masked);
    assert.deepEqual(formatted({ message: 'at /srv/app/x.ts:3', path: ['a'] }), masked);
    assert.deepEqual(
      formatted({ message: 'TypeError: x is undefined', path: ['a'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
      masked,
    );
    for (const code of ['NOT_FOUND', 'UNAUTHORIZED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'PERSISTED_QUERY_NOT_FOUND']) {
      const kept = { message: 'said on purpose', extensions: { code } };
      assert.deepEqual(formatted(kept), kept);
    }
  });

  test("keeps the registry's codes and Apollo Server's own, but not INTERNAL_SERVER_ERROR", () => {
    for (const code of ['CURSOR_EXPIRED', 'OPERATION_RESOLUTION_FAILURE', 'PERSISTED_QUERY_NOT_SUPPORTED', 'GRAPHQL_PARSE_FAILED']) {
      assert.ok(PRODUCTION_CODES.includes(code), code);
    }
    assert.ok(!PRODUCTION_CODES.includes('INTERNAL_SERVER_ERROR'));
  });

  test('strips "Did you mean" suggestions from every message it keeps', () => {
    const variable =
      'Variable "$types" got invalid value "PLACE" at "types[0]"; Value "PLACE" does not exist in "OrderEventType" enum. Did you mean the enum value "PLACED" or "PAID"?';
    const field =
      'Variable "$input" got invalid value { line: [] }; Field "line" is not defined by type "PlaceOrderInput". Did you mean "lines"?';
    assert.deepEqual(
      [variable, field].map((message) => formatted({ message, extensions: { code: 'BAD_USER_INPUT' } }).message),
      [
        'Variable "$types" got invalid value "PLACE" at "types[0]"; Value "PLACE" does not exist in "OrderEventType" enum.',
        'Variable "$input" got invalid value { line: [] }; Field "line" is not defined by type "PlaceOrderInput".',
      ],
    );
  });

  test('keeps only the allow-listed extensions of a documented error', () => {
    assert.deepEqual(formatted(chatty), {
      message: 'quantity must be at least 1',
      path: ['placeOrder'],
      extensions: { code: 'BAD_USER_INPUT', serviceName: 'orders', argument: 'input.lines.quantity' },
    });
  });

  test("withholds a documented error's message that names a file or a stack frame, and keeps its code (in every mode)", () => {
    for (const message of [
      'order failed at /srv/app/orders.ts:3:4',
      'Error: boom\n    at run (node:internal/x:1:2)',
      'cannot open "/var/lib/orders/db"',
      'ENOENT: no such file or directory, open /data/orders/projection.snapshot',
      'cannot read /opt/x',
      'cannot read (/a/b/c)',
      'cannot open C:\\orders\\db',
      'see file:///srv/app/x.js',
      'Error: boom\n    at new Pool (pg.js:10:3)',
    ]) {
      assert.ok(leaksInternals(message), message);
      for (const format of [production, development]) {
        assert.deepEqual(format({ message, extensions: { code: 'NOT_FOUND', serviceName: 'orders' } }, undefined), {
          message: WITHHELD_MESSAGE,
          extensions: { code: 'NOT_FOUND', serviceName: 'orders' },
        });
      }
    }
    for (const message of [
      'no order "o-1"',
      'subgraph "orders" is unavailable: ECONNREFUSED',
      'the upstream subscription to subgraph "orders" failed: http://127.0.0.1:4003/graphql refused',
      'resume with after: "djE6MSwyLDM"',
      'an order has at most 50 lines (quantity/line)',
      'an order needs\n  at least one line',
      'subscriptions run over WebSocket (graphql-ws) on this path or over Server-Sent Events on /graphql/stream, not as a plain HTTP request',
    ]) {
      assert.ok(!leaksInternals(message), message);
    }
  });
});

describe('errors outside production', () => {
  test('lose their stacktrace and exception extensions, and keep the rest, suggestions included', () => {
    const { stacktrace: _s, exception: _e, ...rest } = chatty.extensions;
    assert.deepEqual(development(chatty, undefined), { ...chatty, extensions: rest });
    const suggestion = {
      message: 'Field "line" is not defined by type "PlaceOrderInput". Did you mean "lines"?',
      extensions: { code: 'BAD_USER_INPUT' },
    };
    assert.deepEqual(development(suggestion, undefined), suggestion);
  });
});

describe('extension values, in every mode', () => {
  test('lose nested stacks, values naming a file or a stack frame, and anything nested too deep; an error without a code gets INTERNAL_SERVER_ERROR', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20; i++) deep = { deeper: deep };
    const error = {
      message: 'failed',
      extensions: {
        originalError: { message: 'boom', stack: 'Error: boom\n    at run (/srv/app/x.js:1:2)', details: ['kept', 'see /var/lib/db'] },
        where: 'C:\\srv\\x.ts',
        deep,
      },
    };
    const sent = development(error, undefined);
    assert.deepEqual(sent.extensions?.['originalError'], { message: 'boom', details: ['kept'] });
    assert.equal(sent.extensions?.['where'], undefined);
    assert.doesNotMatch(JSON.stringify(sent.extensions?.['deep']), /bottom/);
    assert.equal(sent.extensions?.['code'], 'INTERNAL_SERVER_ERROR');
    assert.equal(
      production({ message: 'x', extensions: { code: 'NOT_FOUND', status: 'at run (/srv/x.js:1:2)' } }, undefined).extensions?.['status'],
      undefined,
    );
    // A position is any string a subgraph chose: a client needs it as it is to resume.
    const cursor = '/2026/12/02/o-17';
    for (const format of [production, development]) {
      const kept = format({ message: 'x', extensions: { code: 'RATE_LIMITED', lastDeliveredCursor: cursor } }, undefined);
      assert.equal(kept.extensions?.['lastDeliveredCursor'], cursor);
    }
  });
});

describe('extensions the gateway itself may hold', () => {
  test(
    'a cycle with fan-out, a getter that throws, a bigint, a Date, a function: dropped, and the rest sent at once',
    { timeout: 10_000 },
    () => {
      const cycle: Record<string, unknown> = {};
      for (let i = 0; i < 14; i++) cycle[`k${i}`] = cycle;
      const throwing = Object.defineProperty({}, 'boom', {
        enumerable: true,
        get: () => {
          throw new Error('at run (/srv/x.js:1:2)');
        },
      });
      const sent = development(
        { message: 'x', extensions: { code: 'NOT_FOUND', kept: 'yes', throwing, big: 10n, when: new Date(0), fn: () => 1, cycle } },
        undefined,
      );
      assert.equal(sent.extensions?.['kept'], 'yes');
      for (const key of ['throwing', 'big', 'when', 'fn']) assert.equal(sent.extensions?.[key], undefined, key);
      assert.ok(JSON.stringify(sent).length < 100_000, 'the cycle is cut short');
    },
  );
});

describe('the errors of subscription results', () => {
  test('are rewritten the same way, and results without errors are left alone', () => {
    const results = clientResults(production);
    const clean = { data: { a: 1 } };
    assert.equal(results(clean), clean);
    const result = results({
      data: null,
      errors: [
        new GraphQLError('relation "orders" at /var/lib/pg', { path: ['orderEvents'], extensions: { code: 'SQL_ERROR' } }),
        new GraphQLError('cursor expired', {
          path: ['orderEvents'],
          extensions: { code: 'CURSOR_EXPIRED', stacktrace: ['at x (/a/b.ts:1:1)'] },
        }),
        new GraphQLError('Value "PLACE" does not exist. Did you mean "PLACED"?', { extensions: { code: 'BAD_USER_INPUT' } }),
      ],
    });
    assert.deepEqual(JSON.parse(JSON.stringify(result.errors)), [
      { message: 'internal error', path: ['orderEvents'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      { message: 'cursor expired', path: ['orderEvents'], extensions: { code: 'CURSOR_EXPIRED' } },
      { message: 'Value "PLACE" does not exist.', extensions: { code: 'BAD_USER_INPUT' } },
    ]);
  });
});
