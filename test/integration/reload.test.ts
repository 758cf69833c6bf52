/**
 * Hot reload of the gateway's supergraph, on the example system (librdkafka mock cluster) with a
 * gateway serving a supergraph file of the test's own: a changed file is served without a restart,
 * open subscriptions that still validate go on with every event exactly once, one that selects a
 * field that is gone ends with SUBSCRIPTION_SCHEMA_RELOAD naming it, a supergraph that is not valid
 * is refused while the old one goes on, and `POST /reload` on the ops listener reloads on request.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { composeSupergraph, supergraphPath } from '../../scripts/composition.ts';
import { readRegistry } from '../../scripts/registry.ts';
import { Cleanups } from '../kafka/orders-support.ts';
import { postGraphQL } from '../support/graphql.ts';
import { readCounter } from '../support/metrics.ts';
import { waitFor } from '../support/wait.ts';
import {
  ProtocolClient,
  startExtraGateway,
  startSubscriptionSystem,
  SYSTEM_START,
  type ExtraGateway,
  type SubscriptionSystem,
} from '../subscriptions/support.ts';

/** Survives every reload here: its fields stay, one of them is resolved by the customers subgraph. */
const KEPT = 'subscription { orderEvents { cursor type order { id customer { name } } } }';
/** Selects OrderEvent.occurredAt, which the reduced supergraph drops. */
const DROPPED = 'subscription { orderEvents { cursor occurredAt } }';
const EVENT_FIELDS = '{ __type(name: "OrderEvent") { fields { name } } }';

interface Served {
  ready: boolean;
  supergraph: { hash: string; generation: number; loadedAt: string };
  subgraphs: { name: string; answers: boolean | null }[];
}

describe('hot reload of the supergraph', { timeout: 600_000 }, () => {
  let sys: SubscriptionSystem;
  let gateway: ExtraGateway;
  let dir: string;
  let file: string;
  let original: string;
  /** The supergraph composed without OrderEvent.occurredAt. */
  let reduced: string;
  const cleanups = new Cleanups();
  after(() => cleanups.run());

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'interchange-reload-'));
    cleanups.after(() => rm(dir, { recursive: true, force: true }));
    original = await readFile(supergraphPath, 'utf8');
    reduced = await composeWithout(dir, 'orders', /^ {2}"When the event happened \(ISO 8601\)\."\n {2}occurredAt: String!\n/m);
    file = join(dir, 'supergraph.graphql');
    await writeFile(file, original);
    sys = await startSubscriptionSystem({}, cleanups);
    gateway = await startExtraGateway(
      sys,
      // Room for the thousand subscriptions of one client below.
      { SUPERGRAPH: file, SUBGRAPH_PROBE_MS: '500', RATE_LIMIT_PER_SECOND: '0', SUBSCRIPTION_EVENTS_PER_SECOND: '0' },
      cleanups,
    );
  }, SYSTEM_START);

  const served = async (): Promise<Served> => (await (await fetch(`${gateway.opsUrl}/readyz`)).json()) as Served;
  const reloads = (result: string) => readCounter(`${gateway.opsUrl}/metrics`, 'gateway_supergraph_reloads_total', { result });
  const eventFields = async () => {
    const { body } = await postGraphQL<{ __type: { fields: { name: string }[] } }>(
      `${gateway.gatewayUrl}/graphql`,
      EVENT_FIELDS,
      {},
      sys.auth,
    );
    return body.data!.__type.fields.map((f) => f.name);
  };
  const placeOrder = async (i: number): Promise<string> => {
    const { body } = await postGraphQL<{ placeOrder: { id: string } }>(
      `${gateway.gatewayUrl}/graphql`,
      `mutation { placeOrder(input: { customerId: "c${(i % 5) + 1}", lines: [{ productId: "p1", quantity: 1 }], idempotencyKey: "reload-${i}" }) { id } }`,
      {},
      sys.auth,
    );
    assert.ok(body.data?.placeOrder, JSON.stringify(body));
    return body.data.placeOrder.id;
  };
  /** Writes the file and waits until the gateway serves it (its watch reloads it). */
  const serve = async (text: string, generation: number) => {
    await writeFile(file, text);
    await waitFor(async () => (await served()).supergraph.generation === generation, 30_000, `generation ${generation} never served`, 50);
  };

  test('reports the served supergraph and whether each subgraph answers on /readyz', async () => {
    await waitFor(
      async () => (await served()).subgraphs.every((s) => s.answers === true),
      30_000,
      'subgraphs never reported answering',
      100,
    );
    const report = await served();
    assert.equal(report.supergraph.generation, 1);
    assert.match(report.supergraph.hash, /^[0-9a-f]{64}$/);
    assert.ok(!Number.isNaN(Date.parse(report.supergraph.loadedAt)));
    assert.deepEqual(report.subgraphs.map((s) => s.name).sort(), (await readRegistry()).subgraphs.map((s) => s.name).sort());
  });

  test('serves a changed file without a restart; subscriptions that still validate lose and repeat nothing, one that does not ends with a coded error', async () => {
    const client = await ProtocolClient.connect(gateway.wsUrl, sys.auth);
    cleanups.after(() => client.close());
    client.subscribe('kept', KEPT);
    client.subscribe('dropped', DROPPED);
    // Both are open once the first order's event reaches them.
    const placed = [await placeOrder(0)];
    await waitFor(
      () => client.nexts('kept').length === 1 && client.nexts('dropped').length === 1,
      30_000,
      'subscriptions never opened',
      20,
    );
    assert.ok((await eventFields()).includes('occurredAt'));

    // Events flow while the supergraph changes under them: to the reduced one, then back.
    const flowing = (async () => {
      for (let i = 1; i <= 24; i++) {
        placed.push(await placeOrder(i));
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    await waitFor(() => placed.length >= 8, 60_000, 'orders not placed', 10);
    await serve(reduced, 2);
    assert.ok(!(await eventFields()).includes('occurredAt'), 'the reduced supergraph is not served');
    const ended = await client.take(
      (m) => m.id === 'dropped' && m.type === 'next' && Array.isArray((m.payload as { errors?: unknown }).errors),
      'the dropped subscription error',
    );
    const errors = (ended.payload as { errors: { message: string; extensions: { code: string } }[] }).errors;
    assert.equal(errors[0]!.extensions.code, 'SUBSCRIPTION_SCHEMA_RELOAD');
    assert.match(errors[0]!.message, /occurredAt/);
    await client.take((m) => m.id === 'dropped' && m.type === 'complete', 'complete of the dropped subscription');
    await waitFor(() => placed.length >= 16, 60_000, 'orders not placed', 10);
    await serve(original, 3);
    assert.ok((await eventFields()).includes('occurredAt'));
    await flowing;

    await waitFor(
      () => client.nexts('kept').length >= placed.length,
      60_000,
      `the kept subscription got ${client.nexts('kept').length} of ${placed.length} events`,
      20,
    );
    const received = client.nexts<{ orderEvents: { type: string; order: { id: string; customer: { name: string } } } }>('kept');
    assert.deepEqual(
      received.flatMap((r) => r.errors ?? []),
      [],
    );
    assert.deepEqual(received.map((r) => r.data!.orderEvents.order.id).sort(), [...placed].sort(), 'every order placed, each exactly once');
    assert.ok(received.every((r) => r.data!.orderEvents.type === 'PLACED' && r.data!.orderEvents.order.customer.name.length > 0));
    assert.ok(client.open, 'the socket stays open');
    assert.equal(await reloads('reloaded'), 2);
  });

  test('a reload with 1,000 open subscriptions and events flowing loses and duplicates nothing', async () => {
    const SOCKETS = 10;
    const PER_SOCKET = 100;
    const ORDERS = 30;
    // 100 distinct operations (each its own upstream subscription and resolution), each held by 10
    // clients; half of them join every event to the customers subgraph.
    const operation = (k: number) =>
      k % 2
        ? `subscription { e${k}: orderEvents(types: [PLACED]) { order { id customer { name } } } }`
        : `subscription { e${k}: orderEvents(types: [PLACED]) { type order { id } } }`;
    const clients = await Promise.all(Array.from({ length: SOCKETS }, () => ProtocolClient.connect(gateway.wsUrl, sys.auth)));
    cleanups.after(() => Promise.all(clients.map((c) => c.close())));
    clients.forEach((client, c) => {
      for (let i = 0; i < PER_SOCKET; i++) client.subscribe(`s${i}`, operation((c * PER_SOCKET + i) % 100));
    });
    const nexts = () => clients.reduce((sum, c) => sum + c.messages.filter((m) => m.type === 'next').length, 0);
    // Every subscription is open once the first order's event reached it.
    const placed = [await placeOrder(100)];
    await waitFor(() => nexts() === SOCKETS * PER_SOCKET, 120_000, 'not every subscription opened', 50);
    const generation = (await served()).supergraph.generation;
    const flowing = (async () => {
      for (let i = 1; i < ORDERS; i++) {
        placed.push(await placeOrder(100 + i));
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    })();
    await waitFor(() => placed.length >= 10, 60_000, 'orders not placed', 10);
    // A reload that keeps every subscription, and one more back (no field of theirs is dropped).
    await serve(reduced, generation + 1);
    await waitFor(() => placed.length >= 20, 60_000, 'orders not placed', 10);
    await serve(original, generation + 2);
    await flowing;
    await waitFor(() => nexts() >= SOCKETS * PER_SOCKET * ORDERS, 180_000, 'events missing', 100);
    for (const client of clients) {
      assert.ok(client.open, 'every socket stays open');
      for (let i = 0; i < PER_SOCKET; i++) {
        const results = client.nexts<Record<string, { order: { id: string } }>>(`s${i}`);
        assert.deepEqual(
          results.flatMap((r) => r.errors ?? []),
          [],
        );
        const ids = results.map((r) => Object.values(r.data!)[0]!.order.id);
        assert.deepEqual(ids.sort(), [...placed].sort(), `subscription s${i}: every order exactly once`);
      }
    }
  });

  test('refuses a supergraph that is not valid and goes on serving the one it had', async () => {
    const before = await served();
    const refused = await reloads('refused');
    await writeFile(file, 'type Query { this is not a supergraph');
    await waitFor(async () => (await reloads('refused')) > refused, 30_000, 'the broken supergraph was not refused', 50);
    assert.deepEqual((await served()).supergraph, before.supergraph);
    assert.ok((await eventFields()).includes('occurredAt'), 'the gateway still serves the supergraph it had');
    // On request too, with the reason.
    const response = await fetch(`${gateway.opsUrl}/reload`, { method: 'POST' });
    assert.equal(response.status, 422);
    const body = (await response.json()) as { status: string; error: string; generation: number };
    assert.equal(body.status, 'refused');
    assert.equal(body.generation, before.supergraph.generation);
    assert.match(body.error, /is not a valid supergraph/);
    await writeFile(file, original);
  });

  test('POST /reload on the ops listener reloads on request, and says so when nothing changed', async () => {
    const generation = (await served()).supergraph.generation;
    const unchanged = await fetch(`${gateway.opsUrl}/reload`, { method: 'POST' });
    assert.equal(unchanged.status, 200);
    assert.deepEqual(await unchanged.json(), { status: 'unchanged', generation, hash: (await served()).supergraph.hash });
    assert.equal((await fetch(`${gateway.gatewayUrl}/reload`, { method: 'POST' })).status, 404, 'not on the client port');
  });
});

/** Composes the project's registry with one subgraph's SDL changed (a line removed); returns the supergraph. */
async function composeWithout(dir: string, subgraph: string, line: RegExp): Promise<string> {
  const registry = await readRegistry();
  const entries = await Promise.all(
    registry.subgraphs.map(async (s) => {
      let sdl = await readFile(s.schemaPath, 'utf8');
      if (s.name === subgraph) {
        assert.match(sdl, line);
        sdl = sdl.replace(line, '');
      }
      const schema = join(dir, `${s.name}.graphql`);
      await writeFile(schema, sdl);
      return `  - { name: ${s.name}, schema: ${schema}, url: "${s.url}" }`;
    }),
  );
  const path = join(dir, 'reduced.yaml');
  await writeFile(path, `subgraphs:\n${entries.join('\n')}\n`);
  const result = await composeSupergraph(path);
  assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
  return result.supergraphSdl;
}
