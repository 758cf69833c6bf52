/**
 * `GET /` on the gateway: a browser gets the playground; anything else (curl, a script) a short
 * plain-text page that says where GraphQL, the playground and the subscription endpoints are.
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { TEST_IDENTITY_SECRET } from '../support/identity.ts';
import { startChild, type Child } from '../../lib/supervisor.ts';

/** The gateway alone on the repository's supergraph: `/` needs no subgraph. */
const startGateway = (env: Record<string, string> = {}) =>
  startChild({
    name: 'gateway',
    entry: 'gateway/src/main.ts',
    env: { LOG_LEVEL: 'warn', PORT: '0', IDENTITY_SECRET: TEST_IDENTITY_SECRET, ...env },
    listeners: ['http'],
  });

/** GET with exactly these headers: `fetch` would add an Accept header of its own when none is given. */
function getRaw(url: string, headers: Record<string, string>): Promise<{ status: number; contentType: string; text: string }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', text }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('GET / with the playground enabled', () => {
  let gateway: Child<'http'> | undefined;
  let root: string;
  before(
    async () => {
      gateway = await startGateway();
      root = `http://127.0.0.1:${gateway.ports.http}/`;
    },
    { timeout: 60_000 },
  );
  after(() => gateway?.stop());

  test('answers a client that does not ask for HTML with a plain-text page naming the endpoints', { timeout: 30_000 }, async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'text/plain']) {
      const { status, contentType, text } = await getRaw(root, accept ? { accept } : {});
      assert.equal(status, 200, `accept: ${accept}`);
      assert.equal(contentType, 'text/plain; charset=utf-8');
      assert.match(text, /^GraphQL: +POST \/graphql /m);
      assert.match(text, /^playground: +open \/ in a browser$/m);
      assert.match(text, /graphql-ws \(graphql-transport-ws\) on \/graphql$/m);
      assert.match(text, /Server-Sent Events on \/graphql\/stream$/m);
      assert.ok(text.split('\n').length <= 10, `not short:\n${text}`);
    }
  });

  test('still serves the playground to a browser', { timeout: 60_000 }, async () => {
    const response = await fetch(root, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await response.text(), /<title>Interchange playground<\/title>/);
  });
});

describe('GET / with PLAYGROUND=false', () => {
  let gateway: Child<'http'> | undefined;
  let root: string;
  before(
    async () => {
      gateway = await startGateway({ PLAYGROUND: 'false' });
      root = `http://127.0.0.1:${gateway.ports.http}/`;
    },
    { timeout: 60_000 },
  );
  after(() => gateway?.stop());

  test('answers the plain-text page without the playground, to a browser too', { timeout: 30_000 }, async () => {
    for (const accept of ['*/*', 'text/html']) {
      const response = await fetch(root, { headers: { accept } });
      assert.equal(response.status, 200, `accept: ${accept}`);
      assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
      const text = await response.text();
      assert.match(text, /^GraphQL: +POST \/graphql /m);
      assert.match(text, /Server-Sent Events on \/graphql\/stream$/m);
      assert.doesNotMatch(text, /playground/i);
    }
  });
});
