import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { closeServer, listen } from '../../lib/lifecycle.ts';
import { Collection } from '../collection.ts';
import { createCustomersApp, type CustomersAppDeps } from './app.ts';
import { customerTiers, generateCustomers } from './data.ts';

// The contract's schemas, with their `#/components/...` refs resolved inside one ajv schema.
// Formats (`email`) are not checked: ajv-formats is not a dependency.
const openapi = parse(await readFile(new URL('../../schema/openapi/customers.yaml', import.meta.url), 'utf8'));
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: 'customers.yaml', components: openapi.components });

const realCursor = new Collection(generateCustomers()).page(1).nextCursor;

function assertMatchesSchema(schema: 'Customer' | 'CustomerPage' | 'Problem', body: unknown): void {
  const validate = ajv.getSchema(`customers.yaml#/components/schemas/${schema}`);
  assert.ok(validate, `schema ${schema} is in the contract`);
  assert.ok(validate(body), `${schema}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body)}`);
}

/**
 * A JSON answer's body: the tests check it against the contract's JSON Schemas at run time, then
 * read its fields freely.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  body: Json;
}

async function startApp(deps: Partial<CustomersAppDeps> = {}) {
  const { app } = createCustomersApp({ customers: generateCustomers(), ...deps });
  const server = createServer(app);
  const base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  const request = async (path: string, init?: RequestInit): Promise<Answer> => {
    const res = await fetch(base + path, init);
    const contentType = res.headers.get('content-type') ?? '';
    const text = await res.text();
    const body = contentType.includes('json') ? JSON.parse(text) : text;
    return { status: res.status, contentType, headers: res.headers, body };
  };
  return { request, close: () => closeServer(server) };
}

/** 200 application/json that matches `schema`; returns the body. */
async function expectOk(answer: Promise<Answer>, schema: 'Customer' | 'CustomerPage'): Promise<Json> {
  const { status, contentType, body } = await answer;
  assert.equal(status, 200, JSON.stringify(body));
  assert.match(contentType, /^application\/json/);
  assertMatchesSchema(schema, body);
  return body;
}

/** A problem+json answer with `status` that matches the contract's Problem; returns the body. */
async function expectProblem(answer: Promise<Answer>, status: number): Promise<Json> {
  const { status: actual, contentType, body } = await answer;
  assert.equal(actual, status, JSON.stringify(body));
  assert.match(contentType, /^application\/problem\+json/);
  assertMatchesSchema('Problem', body);
  assert.equal(body.status, status);
  assert.equal(typeof body.type, 'string');
  assert.equal(typeof body.detail, 'string');
  return body;
}

describe('customers data', () => {
  test('generates the same 1000 customers, c1..c1000 in id order, on every run', () => {
    const customers = generateCustomers();
    assert.deepEqual(customers, generateCustomers());
    assert.deepEqual(
      customers.map((c) => c.id),
      Array.from({ length: 1000 }, (_, i) => `c${i + 1}`),
    );
  });

  test('keeps c1 as demos and other tests know it', () => {
    assert.deepEqual(generateCustomers()[0], {
      id: 'c1',
      name: 'Wen Rossi',
      email: 'wen.rossi.1@example.com',
      tier: 'standard',
      favoriteProductIds: ['p493', 'p254', 'p301'],
    });
  });

  test('gives every customer a unique email, a tier and 2 to 5 distinct favourites among p1..p500', () => {
    const customers = generateCustomers();
    assert.equal(new Set(customers.map((c) => c.email)).size, customers.length);
    for (const c of customers) {
      assert.ok(customerTiers.includes(c.tier), c.id);
      assert.match(c.name, /^[A-Z][a-z]+ [A-Z][a-z]+$/);
      const favourites = c.favoriteProductIds;
      assert.ok(favourites.length >= 2 && favourites.length <= 5, c.id);
      assert.equal(new Set(favourites).size, favourites.length, c.id);
      for (const p of favourites) assert.ok(/^p[0-9]+$/.test(p) && Number(p.slice(1)) >= 1 && Number(p.slice(1)) <= 500, p);
    }
  });
});

describe('customers REST API', () => {
  let api: Awaited<ReturnType<typeof startApp>>;
  before(async () => {
    api = await startApp();
  });
  after(() => api?.close());

  test('lists the first 20 customers by default, with a nextCursor', async () => {
    const page = await expectOk(api.request('/customers'), 'CustomerPage');
    assert.deepEqual(
      page.items.map((c: { id: string }) => c.id),
      Array.from({ length: 20 }, (_, i) => `c${i + 1}`),
    );
    assert.equal(typeof page.nextCursor, 'string');
  });

  test('walks all 1000 customers exactly once, in id order, by following nextCursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = cursor === undefined ? '?limit=37' : `?limit=37&cursor=${encodeURIComponent(cursor)}`;
      const page = await expectOk(api.request(`/customers${query}`), 'CustomerPage');
      assert.ok(page.items.length > 0 && page.items.length <= 37);
      seen.push(...page.items.map((c: { id: string }) => c.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined);
    assert.equal(pages, Math.ceil(1000 / 37));
    assert.deepEqual(
      seen,
      Array.from({ length: 1000 }, (_, i) => `c${i + 1}`),
    );
  });

  test('leaves nextCursor out of the last page', async () => {
    const first = await expectOk(api.request('/customers?limit=100'), 'CustomerPage');
    let cursor: string = first.nextCursor;
    for (let i = 1; i < 9; i++) {
      cursor = (await expectOk(api.request(`/customers?limit=100&cursor=${cursor}`), 'CustomerPage')).nextCursor;
    }
    const last = await expectOk(api.request(`/customers?limit=100&cursor=${cursor}`), 'CustomerPage');
    assert.equal(last.items.length, 100);
    assert.equal(last.items.at(-1).id, 'c1000');
    assert.equal('nextCursor' in last, false);
  });

  test('answers a batch in the order of ids, leaving unknown ids out', async () => {
    const batch = await expectOk(api.request('/customers?ids=c3,c999,c0,nope,c1,c3'), 'CustomerPage');
    assert.deepEqual(
      batch.items.map((c: { id: string }) => c.id),
      ['c3', 'c999', 'c1'],
    );
    assert.equal('nextCursor' in batch, false);
    assert.deepEqual(batch.items[0], generateCustomers()[2]);
  });

  test('ignores limit and cursor in a batch read, even invalid ones', async () => {
    const batch = await expectOk(api.request('/customers?ids=c2&limit=abc&cursor=zzz'), 'CustomerPage');
    assert.deepEqual(
      batch.items.map((c: { id: string }) => c.id),
      ['c2'],
    );
  });

  test('accepts a batch of exactly 100 ids', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `c${1000 - i}`);
    const batch = await expectOk(api.request(`/customers?ids=${ids.join(',')}`), 'CustomerPage');
    assert.deepEqual(
      batch.items.map((c: { id: string }) => c.id),
      ids,
    );
  });

  test('answers one customer by id', async () => {
    const customer = await expectOk(api.request('/customers/c42'), 'Customer');
    assert.deepEqual(customer, generateCustomers()[41]);
  });

  test('answers 404 problem+json for an unknown customer', async () => {
    const problem = await expectProblem(api.request('/customers/c1001'), 404);
    assert.equal(problem.title, 'Not Found');
    assert.match(problem.detail, /c1001/);
  });

  for (const limit of ['0', '101', 'abc', '1.5', '-1', '', '1e2']) {
    test(`rejects limit=${JSON.stringify(limit)} with a 400 problem naming limit`, async () => {
      const problem = await expectProblem(api.request(`/customers?limit=${limit}`), 400);
      assert.equal(problem.title, 'Bad Request');
      assert.equal(problem.parameter, 'limit');
      assert.match(problem.detail, /limit/);
    });
  }

  const foreignCursors = {
    garbage: 'garbage',
    empty: '',
    'an unknown id': Buffer.from('v1:c5000').toString('base64url'),
    'a padded variant of a real one': `${realCursor}=`,
  };
  for (const [kind, cursor] of Object.entries(foreignCursors)) {
    test(`rejects a cursor it did not issue (${kind}) with a 400 problem naming cursor`, async () => {
      const problem = await expectProblem(api.request(`/customers?cursor=${encodeURIComponent(cursor)}`), 400);
      assert.equal(problem.parameter, 'cursor');
      assert.match(problem.detail, /cursor/);
    });
  }

  test('rejects more than 100 ids with a 400 problem naming ids', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `c${i + 1}`).join(',');
    const problem = await expectProblem(api.request(`/customers?ids=${ids}`), 400);
    assert.equal(problem.parameter, 'ids');
    assert.match(problem.detail, /101/);
  });

  test('rejects empty entries in ids with a 400 problem naming ids', async () => {
    for (const ids of ['', 'c1,,c2', 'c1,']) {
      const problem = await expectProblem(api.request(`/customers?ids=${ids}`), 400);
      assert.equal(problem.parameter, 'ids', ids);
    }
  });

  test('rejects a parameter given twice with a 400 problem naming it', async () => {
    const problem = await expectProblem(api.request('/customers?limit=5&limit=6'), 400);
    assert.equal(problem.parameter, 'limit');
  });

  test('answers 404 problem+json for an unknown route', async () => {
    for (const path of ['/', '/nope', '/customers/c1/orders']) {
      const problem = await expectProblem(api.request(path), 404);
      assert.match(problem.detail, /no route/, path);
    }
  });

  test('answers 405 problem+json with Allow for a method other than GET', async () => {
    for (const path of ['/customers', '/customers/c1']) {
      const answer = api.request(path, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      await expectProblem(answer, 405);
      assert.equal((await answer).headers.get('allow'), 'GET, HEAD');
    }
  });

  test('answers 400 problem+json for a malformed escape in the path', async () => {
    await expectProblem(api.request('/customers/%E0%A4%A'), 400);
  });

  test('answers /healthz', async () => {
    const { status, body } = await api.request('/healthz');
    assert.equal(status, 200);
    assert.deepEqual(body, { status: 'ok' });
  });
});

/** `customers_http_requests_total` samples from /metrics, keyed `operation status`. */
async function requestCounts(api: Awaited<ReturnType<typeof startApp>>): Promise<Map<string, number>> {
  const { status, contentType, body } = await api.request('/metrics');
  assert.equal(status, 200);
  assert.match(contentType, /^text\/plain/);
  const counts = new Map<string, number>();
  for (const line of String(body).split('\n')) {
    const sample = /^customers_http_requests_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!sample) continue;
    const labels = Object.fromEntries([...(sample[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    counts.set(`${labels.operation} ${labels.status}`, Number(sample[2]));
  }
  return counts;
}

describe('customers_http_requests_total', () => {
  let api: Awaited<ReturnType<typeof startApp>>;
  before(async () => {
    api = await startApp();
  });
  after(() => api?.close());

  const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);

  const cases = [
    ['/customers?limit=3', 'listCustomers 200'],
    ['/customers?limit=0', 'listCustomers 400'],
    ['/customers?ids=c1,c2', 'batchCustomers 200'],
    ['/customers?ids=c1,,c2', 'batchCustomers 400'],
    ['/customers/c7', 'getCustomer 200'],
    ['/customers/c0', 'getCustomer 404'],
    ['/customers/c7', 'getCustomer 200'],
  ] as const;
  for (const [path, key] of cases) {
    test(`counts GET ${path} once as {operation, status} = ${key}`, async () => {
      const before = await requestCounts(api);
      await api.request(path);
      const after = await requestCounts(api);
      assert.equal((after.get(key) ?? 0) - (before.get(key) ?? 0), 1, [...after].join('; '));
      assert.equal(total(after) - total(before), 1);
    });
  }

  test('does not count /healthz, /metrics or unknown routes', async () => {
    const before = await requestCounts(api);
    await api.request('/healthz');
    await api.request('/nope');
    await api.request('/metrics');
    assert.equal(total(await requestCounts(api)), total(before));
  });
});

/** Long enough that an undelayed answer comes first however slowly the machine runs. */
const DELAY_MS = 2_000;

describe('response delay', () => {
  let api: Awaited<ReturnType<typeof startApp>>;
  before(async () => {
    api = await startApp({ responseDelayMs: DELAY_MS });
  });
  after(() => api?.close());

  test('delays every API answer by responseDelayMs', async () => {
    for (const path of ['/customers/c1', '/customers?ids=c1', '/customers?limit=0']) {
      const started = performance.now();
      await api.request(path);
      assert.ok(performance.now() - started >= DELAY_MS - 10, path);
    }
  });

  test('does not delay /healthz', async () => {
    const finished: string[] = [];
    await Promise.all(['/customers/c1', '/healthz'].map(async (path) => finished.push((await api.request(path), path))));
    assert.deepEqual(finished, ['/healthz', '/customers/c1'], 'the undelayed /healthz answered before the delayed call');
  });
});
