import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, DEFAULT_DATA_DIR } from '../../lib/config.ts';
import { readGatewayConfig } from './config.ts';

/** The one setting without a default. */
const SECRET = { IDENTITY_SECRET: 'a-secret-of-at-least-thirty-two-characters' };

describe('gateway configuration', () => {
  test('has defaults for every setting', () => {
    const config = readGatewayConfig(SECRET, []);
    assert.equal(config.PORT, 4000);
    assert.equal(config.HOST, '127.0.0.1');
    assert.equal(config.SUPERGRAPH, resolve('schema/supergraph.graphql'));
    assert.deepEqual(config.SUBGRAPH_URLS, {});
    assert.equal(config.PLAYGROUND, true);
    assert.equal(config.CSRF_PREVENTION, true);
  });

  test("reads the edge's settings: rates below one a second or off, comma-separated origins, and refuses negative rates and zero caps", () => {
    const config = readGatewayConfig(
      {
        ...SECRET,
        RATE_LIMIT_PER_SECOND: '0.5',
        SUBSCRIPTION_EVENTS_PER_SECOND: '0',
        ALLOWED_ORIGINS: ' https://a.example , https://b.example,',
        CORS_ORIGINS: '',
      },
      [],
    );
    assert.equal(config.RATE_LIMIT_PER_SECOND, 0.5);
    assert.equal(config.SUBSCRIPTION_EVENTS_PER_SECOND, 0);
    assert.deepEqual(config.ALLOWED_ORIGINS, ['https://a.example', 'https://b.example']);
    assert.deepEqual(config.CORS_ORIGINS, []);
    assert.throws(
      () => readGatewayConfig({ ...SECRET, RATE_LIMIT_PER_SECOND: '-1', MAX_SSE_STREAMS: '0' }, []),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 2,
    );
  });

  test('lets --supergraph, --port and --subgraph win over the environment', () => {
    const config = readGatewayConfig({ ...SECRET, PORT: '5000', SUPERGRAPH: 'a.graphql', SUBGRAPH_URLS: 'a=http://h:1/graphql' }, [
      '--supergraph',
      'b.graphql',
      '--port',
      '0',
      '--subgraph',
      'b=http://h:2/graphql',
    ]);
    assert.equal(config.PORT, 0);
    assert.equal(config.SUPERGRAPH, resolve('b.graphql'));
    assert.deepEqual(config.SUBGRAPH_URLS, { a: 'http://h:1/graphql', b: 'http://h:2/graphql' });
  });

  test('names every bad setting at once, with the value given', () => {
    assert.throws(
      () => readGatewayConfig({ ...SECRET, PORT: '70000', PLAYGROUND: 'maybe', SUBGRAPH_URLS: 'customers' }, []),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems.map((p) => p.split(':')[0]).sort(), ['PLAYGROUND', 'PORT', 'SUBGRAPH_URLS']);
        assert.match(err.message, /PORT: .*\(got "70000"\)/);
        assert.match(err.message, /SUBGRAPH_URLS: expected name=http\(s\):\/\/url pairs/);
        return true;
      },
    );
  });

  test('keeps the usage record in DATA_DIR unless USAGE_FILE names another file', () => {
    const defaults = readGatewayConfig(SECRET, []);
    assert.equal(defaults.USAGE_FILE, join(DEFAULT_DATA_DIR, 'gateway-usage.json'));
    assert.deepEqual([defaults.USAGE_MAX_OPERATIONS, defaults.USAGE_FLUSH_MS], [10_000, 30_000]);
    assert.equal(readGatewayConfig({ ...SECRET, DATA_DIR: '/srv/gw' }, []).USAGE_FILE, '/srv/gw/gateway-usage.json');
    assert.equal(readGatewayConfig({ ...SECRET, DATA_DIR: '/srv/gw', USAGE_FILE: 'u.json' }, []).USAGE_FILE, resolve('u.json'));
    assert.throws(() => readGatewayConfig({ ...SECRET, USAGE_MAX_OPERATIONS: '0' }, []), /USAGE_MAX_OPERATIONS/);
  });

  test('refuses a subgraph URL that is not http(s)', () => {
    assert.throws(() => readGatewayConfig({ ...SECRET, SUBGRAPH_URLS: 'customers=ftp://x/graphql' }, []), /SUBGRAPH_URLS/);
  });
});
