/**
 * End to end, from an OpenAPI file: `interchange subgraph new reviews --from-openapi` in a scratch
 * copy of the project writes a subgraph that type-checks, passes its own test, composes with the
 * project's subgraphs, and, started as a process against a REST service this test runs, answers a
 * root field and the federation join (`Product.reviews` for catalog's products), batching its reads.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeServer, listen } from '../../lib/lifecycle.ts';
import { repoRoot, startChild, type Child } from '../../lib/supervisor.ts';
import { postGraphQL } from '../support/graphql.ts';
import { identityHeaders, TEST_IDENTITY_SECRET } from '../support/identity.ts';
import { assertRefusesUnsigned, fixtures, runTestFile, scratchProject, subgraphNew, typecheck, type Scratch } from './support.ts';
import { reviewsService } from './services.ts';

describe('interchange subgraph new --from-openapi', () => {
  let scratch: Scratch | undefined;
  let service: ReturnType<typeof reviewsService> | undefined;
  let subgraph: Child<'http' | 'ops'> | undefined;
  let url: string;
  let servicePort: number;

  before(async () => {
    service = reviewsService();
    servicePort = await listen(service.server, 0, '127.0.0.1');
    scratch = await scratchProject();
  });
  after(async () => {
    await subgraph?.stop();
    if (service) await closeServer(service.server);
    await scratch?.remove();
  });

  test('writes the subgraph, its contract, registry entry and supergraph, and says what it left out', { timeout: 120_000 }, async () => {
    const run = await subgraphNew(
      scratch!.root,
      'reviews',
      '--from-openapi',
      join(fixtures, 'reviews.yaml'),
      '--service-url',
      `http://127.0.0.1:${servicePort}`,
    );
    assert.equal(run.code, 0, run.stderr);
    for (const file of ['index.ts', 'datasource.ts', 'resolvers.ts', 'main.ts', 'subgraph.test.ts']) {
      assert.match(run.stdout, new RegExp(`wrote subgraphs/reviews/${file.replace('.', '\\.')}`));
    }
    assert.match(run.stdout, /left out: POST \/reviews: only reads \(GET\) are mapped/);
    assert.equal(
      await readFile(join(scratch!.root, 'schema/openapi/reviews.yaml'), 'utf8'),
      await readFile(join(fixtures, 'reviews.yaml'), 'utf8'),
    );
    assert.equal(
      (await readFile(join(scratch!.root, 'subgraphs/reviews/main.ts'), 'utf8')).split('\n').filter((l) => l.startsWith('run')).length,
      1,
    );

    const sdl = await readFile(join(scratch!.root, 'schema/subgraphs/reviews.graphql'), 'utf8');
    assert.match(sdl, /type Review @key\(fields: "id"\)/);
    assert.match(sdl, /type Product @key\(fields: "id"\) \{\n {2}id: ID!\n.*\n {2}reviews: \[Review!\]!\n\}/);
    assert.match(sdl, /review\(id: ID!\): Review\n/);

    const registry = await readFile(join(scratch!.root, 'schema/subgraphs.yaml'), 'utf8');
    const original = await readFile(join(repoRoot, 'schema/subgraphs.yaml'), 'utf8');
    assert.ok(registry.startsWith(original.trimEnd()), 'the registry kept its text and comments, the entry added at the end');
    assert.match(
      registry.slice(original.trimEnd().length),
      new RegExp(
        `- name: reviews\\n {4}schema: subgraphs/reviews.graphql\\n {4}url: http://localhost:4104/graphql\\n {4}entry: subgraphs/reviews/main.ts\\n {4}env:\\n {6}REVIEWS_SERVICE_URL: http://127.0.0.1:${servicePort}\\n$`,
      ),
    );
    const supergraph = await readFile(join(scratch!.root, 'schema/supergraph.graphql'), 'utf8');
    assert.match(supergraph, /REVIEWS @join__graph\(name: "reviews", url: "http:\/\/localhost:4104\/graphql"\)/);
    assert.match(supergraph, /type Product\n(.*\n)* {2}reviews: \[Review!\]! @join__field\(graph: REVIEWS\)/);
    assert.doesNotMatch(original, /reviews/, "the repository's registry is untouched");
  });

  test('the generated code type-checks and its own test passes', { timeout: 180_000 }, async () => {
    assert.equal(await typecheck(scratch!.root, ['subgraphs/reviews']), '');
    const own = await runTestFile(join(scratch!.root, 'subgraphs/reviews/subgraph.test.ts'));
    assert.equal(own.code, 0, own.output);
  });

  test('as a process, it answers root fields from the REST service, an id batch in one call', { timeout: 120_000 }, async () => {
    subgraph = await startChild({
      name: 'reviews-subgraph',
      entry: join(scratch!.root, 'subgraphs/reviews/main.ts'),
      env: { LOG_LEVEL: 'warn', IDENTITY_SECRET: TEST_IDENTITY_SECRET, REVIEWS_SERVICE_URL: `http://127.0.0.1:${servicePort}` },
      listeners: ['http', 'ops'],
    });
    url = `http://127.0.0.1:${subgraph.ports.http}/graphql`;
    const list = await postGraphQL(url, '{ reviews(first: 2) { id rating status author { name } product { id } } }', {}, identityHeaders());
    assert.deepEqual(list.body, {
      data: {
        reviews: [
          { id: 'r1', rating: 5, status: 'PUBLISHED', author: { name: 'Ada' }, product: { id: 'p1' } },
          { id: 'r2', rating: 3, status: 'IN_REVIEW', author: null, product: { id: 'p1' } },
        ],
      },
    });
    service!.calls.length = 0;
    const byId = await postGraphQL(
      url,
      '{ a: review(id: "r3") { status } b: review(id: "r4") { rating } c: review(id: "nope") { id } }',
      {},
      identityHeaders(),
    );
    assert.deepEqual(byId.body, { data: { a: { status: 'HIDDEN' }, b: { rating: 1 }, c: null } });
    assert.deepEqual(service!.calls, ['/reviews?ids=r3%2Cr4%2Cnope'], 'three lookups, one batch call');
  });

  test("joins Product.reviews for the catalog's products through _entities, the calls made at once", { timeout: 120_000 }, async () => {
    service!.calls.length = 0;
    const joined = await postGraphQL(
      url,
      'query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { id reviews { id rating } } } }',
      { representations: ['p1', 'p2', 'p9'].map((id) => ({ __typename: 'Product', id })) },
      identityHeaders(),
    );
    assert.deepEqual(joined.body, {
      data: {
        _entities: [
          {
            id: 'p1',
            reviews: [
              { id: 'r1', rating: 5 },
              { id: 'r2', rating: 3 },
            ],
          },
          { id: 'p2', reviews: [{ id: 'r3', rating: 4 }] },
          { id: 'p9', reviews: [] },
        ],
      },
    });
    assert.deepEqual([...service!.calls].sort(), ['/products/p1/reviews', '/products/p2/reviews', '/products/p9/reviews']);
    assert.equal(service!.maxInFlight(), 3, 'the three calls were in flight together, not one after another');
  });
  test("as a process, it refuses a call without the gateway's signed identity", { timeout: 30_000 }, async () => {
    assert.ok(subgraph, 'the subgraph process was started by the test before');
    await assertRefusesUnsigned(`http://127.0.0.1:${subgraph.ports.http}`);
  });
});
