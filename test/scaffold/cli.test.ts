/**
 * `interchange subgraph new` as a command: its help, and what it refuses (a name taken, a contract it
 * cannot map, a subgraph that would not compose, no backend address) with a non-zero exit and
 * nothing written; `--no-compose`. The registry writer keeps the file's comments.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRegistry } from '../../scripts/registry.ts';
import { addSubgraph, nextSubgraphUrl } from '../../scripts/scaffold/registry.ts';
import { interchange } from '../support/interchange.ts';
import { fixtures, scratchProject, subgraphNew, type Scratch } from './support.ts';

/** Every file under the scratch project's schema/ and subgraphs/ with its text: to prove nothing was written. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const dir of ['schema', 'subgraphs']) {
    for (const entry of await readdir(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.set(join(entry.parentPath, entry.name), await readFile(join(entry.parentPath, entry.name), 'utf8'));
    }
  }
  return files;
}

describe('npx interchange subgraph new', () => {
  let scratch: Scratch | undefined;
  let root: string;
  before(async () => {
    scratch = await scratchProject();
    root = scratch.root;
  });
  after(async () => {
    await scratch?.remove();
  });

  test('--help names the contract options, the backend address, the root and --no-compose', { timeout: 60_000 }, async () => {
    const help = await interchange(['subgraph', 'new', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: interchange subgraph new \[options\] <name>/);
    for (const option of [
      '--from-openapi <file>',
      '--from-proto <file>',
      '--from-topic <topic>',
      '--event-schemas <dir>',
      '--service-url <address>',
      '--root <dir>',
      '--no-compose',
    ]) {
      assert.ok(help.stdout.includes(option), `${option} is not in the help`);
    }
    const group = await interchange(['subgraph', '--help']);
    assert.match(group.stdout, /^ {2}new \[options\] <name> +scaffold a subgraph/m);
  });

  const refusals: [string, (dir: string) => Promise<string[]>, RegExp][] = [
    [
      'a name the registry has already',
      async () => ['customers', '--from-openapi', join(fixtures, 'reviews.yaml')],
      /a subgraph named customers is in schema\/subgraphs\.yaml already/,
    ],
    [
      'a name that is not one',
      async () => ['Reviews!', '--from-openapi', join(fixtures, 'reviews.yaml')],
      /"Reviews!" is not a subgraph name/,
    ],
    [
      'a contract it cannot map, naming the construct and where it is',
      async (dir) => {
        const file = join(dir, 'broken.yaml');
        const text = (await readFile(join(fixtures, 'reviews.yaml'), 'utf8')).replace(
          'tags:\n          type: array',
          'tags:\n          oneOf: [{ type: string }]\n          type: array',
        );
        await writeFile(file, text);
        return ['broken', '--from-openapi', file];
      },
      /error: broken\.yaml: components\.schemas\.Review\.properties\.tags: oneOf is not supported/,
    ],
    [
      'event schemas it cannot map (no key field), naming the file and the JSON pointer',
      async (dir) => {
        const events = join(dir, 'stock-events');
        await mkdir(events, { recursive: true });
        const schema = JSON.parse(await readFile(join(fixtures, 'inventory-events/stock-received.json'), 'utf8')) as {
          properties: Record<string, Record<string, unknown>>;
        };
        delete schema.properties['sku']!['x-key'];
        await writeFile(join(events, 'stock-received.json'), JSON.stringify(schema));
        return ['stock', '--from-topic', 'stock.events', '--event-schemas', events];
      },
      /error: stock-received\.json#\/properties: no key field: mark the property that identifies the entity with `"x-key": true`\nnothing was written/,
    ],
    [
      "event schemas whose entity would not compose (a value type named like the catalog's entity)",
      async (dir) => {
        const events = join(dir, 'product-events');
        await mkdir(events, { recursive: true });
        const schema = JSON.parse(await readFile(join(fixtures, 'inventory-events/stock-received.json'), 'utf8')) as Record<
          string,
          unknown
        >;
        await writeFile(join(events, 'stock-received.json'), JSON.stringify({ ...schema, 'x-entity': 'Product' }));
        return ['stock', '--from-topic', 'stock.events', '--event-schemas', events];
      },
      /stock would not compose with the other subgraphs:\n {2}- /,
    ],
    [
      'a subgraph that would not compose with the others',
      async (dir) => {
        // Its Product is a value type with fields of its own: composition refuses it beside catalog's entity.
        const file = join(dir, 'products.proto');
        await writeFile(
          file,
          'syntax = "proto3";\nservice P { rpc ListProducts(L) returns (R); }\nmessage L { int32 page_size = 1; }\nmessage R { repeated Product products = 1; }\nmessage Product { string sku = 1; }\n',
        );
        return ['products2', '--from-proto', file, '--service-url', '127.0.0.1:1'];
      },
      /products2 would not compose with the other subgraphs:\n {2}- /,
    ],
    [
      'a gRPC contract without --service-url',
      async () => ['shipping', '--from-proto', join(fixtures, 'shipping.proto')],
      /Give --service-url .* for SHIPPING_SERVICE_ADDRESS/,
    ],
    [
      'two contracts at once',
      async () => ['both', '--from-openapi', join(fixtures, 'reviews.yaml'), '--from-proto', join(fixtures, 'shipping.proto')],
      /give one contract/,
    ],
  ];
  for (const [what, args, message] of refusals) {
    test(`refuses ${what}, exits 1 and writes nothing`, { timeout: 60_000 }, async () => {
      const before = await snapshot(root);
      const run = await interchange(['subgraph', 'new', ...(await args(root)), '--root', root]);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stderr, message);
      const afterRun = await snapshot(root);
      assert.deepEqual([...afterRun.keys()].sort(), [...before.keys()].sort());
      for (const [path, text] of before) assert.equal(afterRun.get(path), text, `${path} changed`);
    });
  }

  test('--no-compose registers the subgraph and leaves the supergraph as it was', { timeout: 60_000 }, async () => {
    const supergraph = await readFile(join(root, 'schema/supergraph.graphql'), 'utf8');
    const run = await subgraphNew(root, 'reviews', '--from-openapi', join(fixtures, 'reviews.yaml'), '--no-compose');
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /supergraph/);
    assert.equal(await readFile(join(root, 'schema/supergraph.graphql'), 'utf8'), supergraph);
    assert.match(await readFile(join(root, 'schema/subgraphs.yaml'), 'utf8'), /REVIEWS_SERVICE_URL: http:\/\/127\.0\.0\.1:4301\n$/);
    const again = await subgraphNew(root, 'reviews', '--from-openapi', join(fixtures, 'reviews.yaml'));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /a subgraph named reviews is in schema\/subgraphs\.yaml already/);
  });
});

describe('the registry writer', () => {
  const text = `# The registry.
subgraphs:
  # The first one.
  - name: a
    schema: a.graphql
    url: http://localhost:4101/graphql # where it is
  - { name: b, schema: b.graphql, url: "http://localhost:4107/graphql" }
`;

  test('adds an entry at the end, keeping comments and layout, on the port after the highest', { timeout: 10_000 }, () => {
    const url = nextSubgraphUrl(parseRegistry('/r/subgraphs.yaml', text));
    assert.equal(url, 'http://localhost:4108/graphql');
    const added = addSubgraph(text, {
      name: 'c',
      schema: 'c.graphql',
      url,
      entry: 'subgraphs/c/main.ts',
      env: { C_SERVICE_URL: 'http://${c-service.http}' },
    });
    assert.equal(
      added,
      `${text}  - name: c\n    schema: c.graphql\n    url: http://localhost:4108/graphql\n    entry: subgraphs/c/main.ts\n    env:\n      C_SERVICE_URL: http://\${c-service.http}\n`,
    );
  });
});
