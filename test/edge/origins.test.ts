/**
 * Which pages may open a WebSocket (the `Origin` check before the upgrade), and CORS on the GraphQL
 * endpoints: off by default, the listed origins when CORS_ORIGINS is set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  send,
  startEdgeGateway,
  startTicksSubgraph,
  upgrade,
  type EdgeGateway,
  type TicksSubgraph,
  type UpgradeAnswer,
} from './support.ts';

const TEST = { timeout: 120_000 };
const APP = 'https://app.example.com';
const EVIL = 'https://evil.example';

/** A WebSocket upgrade from `origin`, closed at once when it was upgraded. */
async function upgradeFrom(gateway: EdgeGateway, origin?: string): Promise<UpgradeAnswer> {
  const answer = await upgrade(gateway, { ...(origin !== undefined && { origin }) });
  answer.socket?.close();
  return answer;
}

/** A CORS preflight of a POST from `origin`. */
const preflight = (gateway: EdgeGateway, path: string, origin: string) =>
  send(`${gateway.baseUrl}${path}`, {
    from: '127.0.0.1',
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });

describe('origins and CORS', () => {
  let subgraph: TicksSubgraph;
  let defaults: EdgeGateway;
  let configured: EdgeGateway;

  before(async () => {
    subgraph = await startTicksSubgraph();
    defaults = await startEdgeGateway(subgraph);
    configured = await startEdgeGateway(subgraph, { ALLOWED_ORIGINS: APP, CORS_ORIGINS: `${APP}, https://other.example.com` });
  }, TEST);
  after(async () => {
    await defaults?.stop();
    await configured?.stop();
    await subgraph?.stop();
  });

  test(
    'by default, an upgrade without Origin or from the same origin is accepted; any other origin gets 403 ORIGIN_NOT_ALLOWED',
    TEST,
    async () => {
      assert.equal((await upgradeFrom(defaults)).status, 101);
      const port = new URL(defaults.baseUrl).port;
      assert.equal((await upgradeFrom(defaults, `http://127.0.0.1:${port}`)).status, 101, 'same origin (the playground)');
      const refused = await upgradeFrom(defaults, EVIL);
      assert.equal(refused.status, 403);
      const body = JSON.parse(refused.text) as { errors: { message: string; extensions: Record<string, unknown> }[] };
      assert.equal(body.errors[0]?.extensions['code'], 'ORIGIN_NOT_ALLOWED');
      assert.equal((await upgradeFrom(defaults, APP)).status, 403, 'not listed');
      assert.equal((await upgradeFrom(defaults, 'null')).status, 403, 'a sandboxed page');
      assert.ok((await defaults.refusals('origin')) >= 3);
    },
  );

  test('ALLOWED_ORIGINS adds origins; others are still refused', TEST, async () => {
    assert.equal((await upgradeFrom(configured, APP)).status, 101);
    assert.equal((await upgradeFrom(configured, EVIL)).status, 403);
    assert.equal((await upgradeFrom(configured)).status, 101);
  });

  test('CORS is off by default: a preflight gets no Access-Control-Allow-Origin', TEST, async () => {
    for (const path of ['/graphql', '/graphql/stream']) {
      const answer = await preflight(defaults, path, APP);
      assert.equal(answer.headers['access-control-allow-origin'], undefined, path);
    }
  });

  test('CORS_ORIGINS allows the listed origins on /graphql and /graphql/stream, and no other', TEST, async () => {
    for (const path of ['/graphql', '/graphql/stream']) {
      const answer = await preflight(configured, path, APP);
      assert.equal(answer.status, 204, path);
      assert.equal(answer.headers['access-control-allow-origin'], APP, path);
      assert.match(String(answer.headers['access-control-allow-methods']), /POST/);
      assert.equal((await preflight(configured, path, EVIL)).headers['access-control-allow-origin'], undefined, path);
    }
    const query = await send(`${configured.baseUrl}/graphql`, { from: '127.0.0.1', headers: { origin: APP }, body: { query: '{ ping }' } });
    assert.equal(query.status, 200);
    assert.equal(query.headers['access-control-allow-origin'], APP);
  });

  test(
    'a bad token from an allowed origin gets 401 UNAUTHENTICATED that the page can read (with Access-Control-Allow-Origin)',
    TEST,
    async () => {
      for (const path of ['/graphql', '/graphql/stream']) {
        const refused = await send(`${configured.baseUrl}${path}`, {
          from: '127.0.0.1',
          headers: { origin: APP, authorization: 'Bearer not.a.jwt', accept: 'application/json, text/event-stream' },
          body: { query: '{ ping }' },
        });
        assert.equal(refused.status, 401, `${path}: ${refused.text}`);
        assert.equal(refused.headers['access-control-allow-origin'], APP, path);
        assert.equal(refused.json().errors?.[0]?.extensions?.['code'], 'UNAUTHENTICATED', path);
      }
    },
  );
});
