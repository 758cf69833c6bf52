/**
 * npm start's development loop (scripts/system.ts `watchRegistry`): while the system runs, adding a
 * subgraph to the registry is enough for it to be started and for the gateway to route to it; a
 * removed one is stopped; an SDL that does not compose is reported with where it is, and the gateway
 * goes on with what it had. A subscriber gets every event exactly once across all of it.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../../lib/supervisor.ts';
import { readRegistry } from '../../scripts/registry.ts';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { operatorHeaders, postGraphQL } from '../support/graphql.ts';
import { waitFor } from '../support/wait.ts';
import { ProtocolClient } from '../subscriptions/support.ts';
import { scratchProject, type Scratch } from '../support/scratch.ts';

const GREETINGS = `
  - name: greetings
    schema: subgraphs/greetings.graphql
    url: http://localhost:4999/graphql
    entry: test/fixtures/greetings/main.ts
`;

describe("npm start's development loop", { timeout: 300_000 }, () => {
  let system: ExampleSystem | undefined;
  let dir: string;
  let registry: string;
  let original: string;
  let auth: Record<string, string>;
  const said: string[] = [];

  let scratch: Scratch | undefined;
  before(
    async () => {
      // The system runs from a scratch copy of the project: the test's registry changes never touch the repository's.
      scratch = await scratchProject({ system: true, fixtures: ['test/fixtures/greetings'] });
      dir = join(scratch.root, 'schema');
      await copyFile(join(repoRoot, 'test/fixtures/greetings/greetings.graphql'), join(dir, 'subgraphs/greetings.graphql'));
      registry = scratch.registry;
      original = await readFile(registry, 'utf8');
      system = await startExampleSystem({
        host: '127.0.0.1',
        gatewayPort: 0,
        logLevel: 'warn',
        registry,
        watchRegistry: true,
        onLine: (name, line) => {
          if (name === 'registry') said.push(line);
        },
      });
      auth = await operatorHeaders(system);
    },
    { timeout: 120_000 },
  );
  after(
    async () => {
      await system?.stop();
      await scratch?.remove();
    },
    { timeout: 60_000 },
  );

  const greeting = async () => {
    const { body } = await postGraphQL<{ customer: { name: string; greeting: string } }>(
      `${system!.gatewayUrl}/graphql`,
      '{ customer(id: "c3") { name greeting } }',
      {},
      auth,
    );
    return body;
  };
  const placeOrder = async (i: number) => {
    const { body } = await postGraphQL<{ placeOrder: { id: string } }>(
      `${system!.gatewayUrl}/graphql`,
      `mutation { placeOrder(input: { customerId: "c${(i % 5) + 1}", lines: [{ productId: "p1", quantity: 1 }] }) { id } }`,
      {},
      auth,
    );
    assert.ok(body.data?.placeOrder, JSON.stringify(body));
    return body.data.placeOrder.id;
  };

  test('a subgraph added to the registry is started and served, a removed one stopped; a subscriber misses and repeats nothing', async (t) => {
    const client = await ProtocolClient.connect(`${system!.gatewayUrl.replace(/^http/, 'ws')}/graphql`, auth);
    t.after(() => client.close());
    client.subscribe('placed', 'subscription { orderEvents(types: [PLACED]) { order { id customer { name } } } }');
    const placed = [await placeOrder(0)];
    await waitFor(() => client.nexts('placed').length === 1, 30_000, 'the subscription never opened', 20);
    assert.match(JSON.stringify((await greeting()).errors), /Cannot query field \\"greeting\\" on type \\"Customer\\"/);

    await writeFile(registry, `${original.trimEnd()}\n${GREETINGS}`);
    placed.push(await placeOrder(1));
    await waitFor(
      async () => (await greeting()).data?.customer?.greeting === 'Hello, c3',
      90_000,
      'the added subgraph was never served',
      200,
    );
    // Joined to the customers subgraph's Customer in one query.
    const joined = (await greeting()).data!.customer;
    assert.ok(joined.name.length > 0);
    assert.ok(system!.processes.has('greetings-subgraph'));
    placed.push(await placeOrder(2));

    // An SDL that does not compose: reported with its file, line and column; the gateway goes on,
    // and the subgraph is not started again with it.
    const sdl = join(dir, 'subgraphs/greetings.graphql');
    const good = await readFile(sdl, 'utf8');
    await writeFile(sdl, good.replace('greeting: String!', 'greeting: String!\n  broken('));
    await waitFor(() => said.some((line) => /composition failed/.test(line)), 30_000, 'the broken SDL was not reported', 50);
    assert.match(
      said.find((line) => /composition failed/.test(line))!,
      new RegExp(`\\[greetings\\] ${sdl}:\\d+:\\d+: Syntax Error`),
    );
    assert.equal((await greeting()).data?.customer.greeting, 'Hello, c3');
    await writeFile(sdl, good);

    // An SDL edited while its subgraph runs: the subgraph starts again with it, then the gateway serves it.
    await writeFile(sdl, good.replace('greeting: String!', 'greeting: String!\n  "Louder."\n  shout: String'));
    const SHOUT = '{ customer(id: "c3") { greeting shout } }';
    await waitFor(
      async () => (await postGraphQL(`${system!.gatewayUrl}/graphql`, SHOUT, {}, auth)).body.errors === undefined,
      90_000,
      'the edited SDL was never served by a restarted subgraph',
      200,
    );
    assert.deepEqual((await postGraphQL(`${system!.gatewayUrl}/graphql`, SHOUT, {}, auth)).body.data, {
      customer: { greeting: 'Hello, c3', shout: null },
    });
    assert.ok(said.some((line) => /restarted greetings-subgraph/.test(line)));

    await writeFile(registry, original);
    placed.push(await placeOrder(3));
    // Gone from the served supergraph (not merely unreachable).
    await waitFor(
      async () => /Cannot query field \\"greeting\\"/.test(JSON.stringify((await greeting()).errors ?? null)),
      90_000,
      'the removed subgraph was still served',
      200,
    );
    await waitFor(() => !system!.processes.has('greetings-subgraph'), 30_000, 'the removed subgraph was not stopped', 50);
    placed.push(await placeOrder(4));

    await waitFor(() => client.nexts('placed').length >= placed.length, 60_000, 'events missing', 20);
    const received = client.nexts<{ orderEvents: { order: { id: string } } }>('placed');
    assert.deepEqual(
      received.flatMap((r) => r.errors ?? []),
      [],
    );
    assert.deepEqual(received.map((r) => r.data!.orderEvents.order.id).sort(), [...placed].sort());
  });
});

describe('subgraphs that run elsewhere (npm start with SUBGRAPH_URLS)', () => {
  test('a name the registry does not have is refused before anything starts', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    await assert.rejects(
      startExampleSystem({
        host: '127.0.0.1',
        gatewayPort: 0,
        logLevel: 'warn',
        subgraphUrls: { reviews: 'http://127.0.0.1:1/graphql' },
        onLine: (name) => lines.push(name),
      }),
      new RegExp(
        `SUBGRAPH_URLS names reviews, not in .*subgraphs\\.yaml \\(it has ${(await readRegistry()).subgraphs.map((s) => s.name).join(', ')}\\)`,
      ),
    );
    assert.deepEqual(lines, [], 'no process was started');
  });
});
