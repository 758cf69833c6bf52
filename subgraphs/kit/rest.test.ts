import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { ErrorCode } from '../../lib/errors.ts';
import { closeServer, listen } from '../../lib/lifecycle.ts';
import type { ResilienceOptions } from './resilience.ts';
import { RestClient } from './rest.ts';
import { rejectsWithFailure, type ExpectedFailure } from '../../test/support/upstream.ts';
import { refusingPort } from '../../test/support/ports.ts';

const upstream = 'customers';

/**
 * Tests about timeouts set their own timeoutMs. The breaker's cooldown is long, so an open circuit
 * stays open however slowly the test runs; the tests about the cooldown set their own.
 */
const fast: ResilienceOptions = {
  upstream,
  timeoutMs: 10_000,
  maxConcurrent: 8,
  maxQueued: 8,
  retries: 0,
  breakerThreshold: 10,
  breakerCooldownMs: 120_000,
};

/**
 * A cooldown long enough that "still open within the cooldown" holds on a loaded machine. The tests
 * wait it out on the clock (`sleep(COOLDOWN_MS + 100)`): time passing is the condition itself.
 */
const COOLDOWN_MS = 3_000;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A backend whose every path answers as its test says, and which counts the requests per path. */
async function startBackend() {
  const routes = new Map<string, Handler>();
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://backend');
    hits.set(pathname, (hits.get(pathname) ?? 0) + 1);
    const handler = routes.get(pathname);
    if (handler) return handler(req, res);
    res.writeHead(599).end(`no route for ${pathname}`);
  });
  const baseUrl = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  return {
    baseUrl,
    /** Answers requests for `path` with `handler`. */
    route: (path: string, handler: Handler) => void routes.set(path, handler),
    /** Requests that reached `path`. */
    hits: (path: string) => hits.get(path) ?? 0,
    close: () => closeServer(server, 200),
  };
}

const json =
  (status: number, body: string): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };

/** Answers only after the client has given up: the request stays open until the client aborts it. */
const neverAnswers: Handler = () => {};

/** Asserts that `promise` rejects with an `UpstreamFailure` of exactly this shape. */
const rejectsWith = (promise: Promise<unknown>, expected: ExpectedFailure) => rejectsWithFailure(promise, upstream, expected);

describe('RestClient.getJson', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  const client = (options: Partial<ResilienceOptions> = {}) => new RestClient({ ...fast, ...options, baseUrl: backend.baseUrl });

  before(async () => {
    backend = await startBackend();
  });
  after(() => backend?.close());

  test('resolves the parsed JSON body, sending the query parameters that are defined', async () => {
    let seen = '';
    backend.route('/customers', (req, res) => {
      seen = req.url ?? '';
      json(200, '{"id":"c1","tier":"GOLD","tags":["a"]}')(req, res);
    });
    const body = await client().getJson('/customers', { limit: 2, tier: 'GOLD', after: undefined });
    assert.deepEqual(body, { id: 'c1', tier: 'GOLD', tags: ['a'] });
    assert.equal(seen, '/customers?limit=2&tier=GOLD');
  });

  test('resolves null on 404 where the contract declares it (no such resource)', async () => {
    backend.route('/missing', json(404, '{"title":"Not Found"}'));
    assert.equal(await client({ retries: 2 }).getJson('/missing', {}, { absentOn404: true }), null);
    assert.equal(backend.hits('/missing'), 1);
  });

  test('fails with UPSTREAM_BAD_RESPONSE on any other 404 (a wrong route), without retrying; the path is logged, never told', async () => {
    backend.route('/no-such-route', json(404, '{"title":"no route for GET /no-such-route"}'));
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'warn' },
      new Writable({ write: (chunk: Buffer, _encoding, done) => done(void lines.push(JSON.parse(String(chunk)))) }),
    );
    const rest = new RestClient({ ...fast, retries: 2, baseUrl: backend.baseUrl, log });
    await rejectsWith(rest.getJson('/no-such-route'), {
      code: ErrorCode.UPSTREAM_BAD_RESPONSE,
      message: 'customers refused the request (HTTP 404)',
      retryable: false,
    });
    assert.equal(backend.hits('/no-such-route'), 1);
    assert.deepEqual(
      lines.map(({ upstream, status, path, body }) => ({ upstream, status, path, body })),
      [{ upstream, status: 404, path: '/no-such-route', body: '{"title":"no route for GET /no-such-route"}' }],
    );
  });

  test('fails with UPSTREAM_TIMEOUT once timeoutMs has passed', async () => {
    backend.route('/slow', neverAnswers);
    await rejectsWith(client({ timeoutMs: 1_000 }).getJson('/slow'), {
      code: ErrorCode.UPSTREAM_TIMEOUT,
      message: 'customers did not answer within 1000 ms',
      retryable: true,
    });
    assert.equal(backend.hits('/slow'), 1);
  });

  test('retries a timed-out GET `retries` times before failing with UPSTREAM_TIMEOUT', async () => {
    backend.route('/slow-retried', neverAnswers);
    await rejectsWith(client({ timeoutMs: 1_000, retries: 2 }).getJson('/slow-retried'), {
      code: ErrorCode.UPSTREAM_TIMEOUT,
      message: 'customers did not answer within 1000 ms',
      retryable: true,
    });
    assert.equal(backend.hits('/slow-retried'), 3);
  });

  test('retries a 503 `retries` times, then fails with UPSTREAM_UNAVAILABLE', async () => {
    backend.route('/503', json(503, '{"title":"Service Unavailable"}'));
    await rejectsWith(client({ retries: 2 }).getJson('/503'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: 'customers answered 503',
      retryable: true,
    });
    assert.equal(backend.hits('/503'), 3);
  });

  test('answers a 503 that recovers on retry with the body of the successful attempt', async () => {
    backend.route('/recovers', (req, res) =>
      backend.hits('/recovers') < 3 ? json(503, '{}')(req, res) : json(200, '{"ok":true}')(req, res),
    );
    assert.deepEqual(await client({ retries: 2 }).getJson('/recovers'), { ok: true });
    assert.equal(backend.hits('/recovers'), 3);
  });

  test('fails a 500 with UPSTREAM_UNAVAILABLE without retrying', async () => {
    backend.route('/500', json(500, '{"title":"Internal Server Error"}'));
    await rejectsWith(client({ retries: 2 }).getJson('/500'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: 'customers answered 500',
      retryable: false,
    });
    assert.equal(backend.hits('/500'), 1);
  });

  test('fails a 400 with UPSTREAM_BAD_RESPONSE naming neither the path nor the body, without retrying', async () => {
    backend.route('/400', json(400, '{"title":"limit must be at most 100"}'));
    await rejectsWith(client({ retries: 2 }).getJson('/400'), {
      code: ErrorCode.UPSTREAM_BAD_RESPONSE,
      message: 'customers refused the request (HTTP 400)',
      retryable: false,
    });
    assert.equal(backend.hits('/400'), 1);
  });

  test('fails malformed JSON with UPSTREAM_BAD_RESPONSE, without retrying', async () => {
    backend.route('/malformed', json(200, '{"id": "c1",'));
    await rejectsWith(client({ retries: 2 }).getJson('/malformed'), {
      code: ErrorCode.UPSTREAM_BAD_RESPONSE,
      message: 'customers answered malformed JSON',
      retryable: false,
    });
    assert.equal(backend.hits('/malformed'), 1);
  });

  test('retries when the backend drops the connection before answering, then fails with UPSTREAM_UNAVAILABLE', async () => {
    backend.route('/hang-up', (req) => req.socket.destroy());
    await rejectsWith(client({ retries: 1 }).getJson('/hang-up'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: 'customers is unreachable: UND_ERR_SOCKET',
      retryable: true,
    });
    assert.equal(backend.hits('/hang-up'), 2);
  });

  test('fails with UPSTREAM_UNAVAILABLE when the connection is refused or reset', async (t) => {
    const refusing = await refusingPort();
    t.after(() => refusing.close());
    const refused = new RestClient({ ...fast, retries: 1, baseUrl: `http://127.0.0.1:${refusing.port}` });
    await rejectsWith(refused.getJson('/customers'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: /^customers is unreachable: (ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET)$/,
      retryable: true,
    });
  });
});

describe('RestClient circuit breaker', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  const client = (options: Partial<ResilienceOptions> = {}) => new RestClient({ ...fast, ...options, baseUrl: backend.baseUrl });

  before(async () => {
    backend = await startBackend();
  });
  after(() => backend?.close());

  test('opens after breakerThreshold consecutive failures and then fails fast without calling the backend', async () => {
    backend.route('/down', json(503, '{}'));
    const rest = client({ breakerThreshold: 3 });
    for (let i = 0; i < 3; i++) {
      assert.equal(rest.policy.breakerState, 'Closed', `before failure ${i + 1}`);
      await rejectsWith(rest.getJson('/down'), {
        code: ErrorCode.UPSTREAM_UNAVAILABLE,
        message: 'customers answered 503',
        retryable: true,
      });
    }
    assert.equal(rest.policy.breakerState, 'Open');
    assert.equal(backend.hits('/down'), 3);

    await rejectsWith(rest.getJson('/down'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: 'customers is failing; calls are paused (circuit open)',
      retryable: false,
    });
    assert.equal(backend.hits('/down'), 3, 'the open circuit kept the call from the backend');
    assert.equal(rest.policy.breakerState, 'Open');
  });

  test('closes again after the cooldown when the trial call succeeds', async () => {
    let healthy = false;
    backend.route('/flaky', (req, res) => (healthy ? json(200, '{"ok":true}') : json(503, '{}'))(req, res));
    const rest = client({ breakerThreshold: 2, breakerCooldownMs: COOLDOWN_MS });
    for (let i = 0; i < 2; i++) await assert.rejects(rest.getJson('/flaky'));
    assert.equal(rest.policy.breakerState, 'Open');

    healthy = true;
    await rejectsWith(rest.getJson('/flaky'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: 'customers is failing; calls are paused (circuit open)',
      retryable: false,
    });
    assert.equal(backend.hits('/flaky'), 2, 'still open within the cooldown');

    await sleep(COOLDOWN_MS + 100);
    assert.deepEqual(await rest.getJson('/flaky'), { ok: true });
    assert.equal(rest.policy.breakerState, 'Closed');
    assert.equal(backend.hits('/flaky'), 3);
    assert.deepEqual(await rest.getJson('/flaky'), { ok: true });
    assert.equal(backend.hits('/flaky'), 4);
  });

  test('reopens at once when the trial call after the cooldown fails', async () => {
    backend.route('/still-down', json(503, '{}'));
    const rest = client({ breakerThreshold: 2, breakerCooldownMs: COOLDOWN_MS });
    for (let i = 0; i < 2; i++) await assert.rejects(rest.getJson('/still-down'));
    await sleep(COOLDOWN_MS + 100);
    await rejectsWith(rest.getJson('/still-down'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: 'customers answered 503',
      retryable: true,
    });
    assert.equal(rest.policy.breakerState, 'Open');
    await rejectsWith(rest.getJson('/still-down'), {
      code: ErrorCode.UPSTREAM_UNAVAILABLE,
      message: 'customers is failing; calls are paused (circuit open)',
      retryable: false,
    });
    assert.equal(backend.hits('/still-down'), 3);
  });

  test('does not count a 404 as a failure: it resets the run of consecutive failures', async () => {
    backend.route('/gone', json(404, '{}'));
    backend.route('/broken', json(503, '{}'));
    const rest = client({ breakerThreshold: 2 });
    await assert.rejects(rest.getJson('/broken'));
    assert.equal(await rest.getJson('/gone', {}, { absentOn404: true }), null);
    await assert.rejects(rest.getJson('/broken'));
    assert.equal(rest.policy.breakerState, 'Closed', 'two failures, but not consecutive');
    for (let i = 0; i < 5; i++) assert.equal(await rest.getJson('/gone', {}, { absentOn404: true }), null);
    assert.equal(rest.policy.breakerState, 'Closed');
    await assert.rejects(rest.getJson('/broken'));
    await assert.rejects(rest.getJson('/broken'));
    assert.equal(rest.policy.breakerState, 'Open', 'two consecutive failures do open it');
  });

  test('does not count a 400 as a failure: the request was wrong, not the backend', async () => {
    backend.route('/bad', json(400, '{}'));
    const rest = client({ breakerThreshold: 2 });
    for (let i = 0; i < 4; i++)
      await assert.rejects(rest.getJson('/bad'), { extensions: { upstream, code: ErrorCode.UPSTREAM_BAD_RESPONSE } });
    assert.equal(rest.policy.breakerState, 'Closed');
    assert.equal(backend.hits('/bad'), 4);
  });
});

describe('RestClient bulkhead', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;

  before(async () => {
    backend = await startBackend();
  });
  after(() => backend?.close());

  test('with maxConcurrent 1 and maxQueued 1, fails a third concurrent call fast with UPSTREAM_OVERLOADED', async () => {
    backend.route('/busy', (req, res) => {
      setTimeout(() => json(200, `{"n":${backend.hits('/busy')}}`)(req, res), 200);
    });
    const rest = new RestClient({ ...fast, maxConcurrent: 1, maxQueued: 1, baseUrl: backend.baseUrl });
    const first = rest.getJson('/busy');
    const second = rest.getJson('/busy');
    let settled = 0;
    for (const call of [first, second]) void call.finally(() => settled++).catch(() => undefined);
    await rejectsWith(rest.getJson('/busy'), {
      code: ErrorCode.UPSTREAM_OVERLOADED,
      message: 'too many calls to customers in flight',
      retryable: false,
    });
    assert.equal(settled, 0, 'rejected without waiting for a slot');
    assert.ok(backend.hits('/busy') <= 1, 'the queued call waits for the first to finish');

    // The call in flight and the queued one both complete, one after the other.
    assert.deepEqual(await first, { n: 1 });
    assert.deepEqual(await second, { n: 2 });
    assert.equal(backend.hits('/busy'), 2);
  });
});
