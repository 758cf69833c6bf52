/**
 * The example system on its embedded event log, stopped and started again on the same DATA_DIR (as
 * `npm start` is from one day to the next): the orders placed before are there, and the orders
 * subgraph says it restored its snapshot and caught up from the snapshot's positions, not from zero.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { Cleanups } from '../kafka/orders-support.ts';
import { temporaryDataDir } from '../support/data-dir.ts';
import { operatorHeaders, postGraphQL } from '../support/graphql.ts';
import { waitFor } from '../support/wait.ts';

interface LogLine {
  msg?: string;
  positions?: number[];
}

/** The system on `dataDir`, once its orders projection is ready; its orders subgraph's log lines go to `lines`. */
async function startOn(dataDir: string, lines: LogLine[]): Promise<ExampleSystem> {
  const system = await startExampleSystem({
    host: '127.0.0.1',
    gatewayPort: 0,
    logLevel: 'info',
    dataDir,
    // Orders stay as placed: what is compared across the restart does not move meanwhile.
    env: { 'orders-subgraph': { FULFILLMENT_PAY_DELAY_MS: '600000', FULFILLMENT_SHIP_DELAY_MS: '600000' } },
    onLine: (name, line) => {
      if (name !== 'orders-subgraph') return;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log event
      }
    },
  });
  const orders = system.opsUrl('orders-subgraph');
  await waitFor(async () => (await fetch(`${orders}/readyz`).catch(() => undefined))?.status === 200, 60_000, 'orders never ready', 250);
  return system;
}

const ordersQuery = '{ orders(first: 100) { id status version totalCents customer { id } lines { product { id } quantity } } }';

async function orders(system: ExampleSystem): Promise<unknown[]> {
  const { body } = await postGraphQL<{ orders: unknown[] }>(
    `${system.gatewayUrl}/graphql`,
    ordersQuery,
    undefined,
    await operatorHeaders(system),
  );
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!.orders;
}

async function placeOrder(system: ExampleSystem, customerId: string, productId: string): Promise<string> {
  const { body } = await postGraphQL<{ placeOrder: { id: string } }>(
    `${system.gatewayUrl}/graphql`,
    `mutation { placeOrder(input: { customerId: "${customerId}", lines: [{ productId: "${productId}", quantity: 1 }] }) { id } }`,
    undefined,
    await operatorHeaders(system),
  );
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!.placeOrder.id;
}

test(
  'stopped and started again on its DATA_DIR, the embedded system still has its orders, restored from a snapshot',
  { timeout: 600_000 },
  async (t) => {
    // Run the last registered first: the systems stop before their DATA_DIR is removed.
    const cleanups = new Cleanups();
    t.after(() => cleanups.run());
    const dataDir = await temporaryDataDir(cleanups);
    const firstLines: LogLine[] = [];
    const first = await startOn(dataDir, firstLines);
    cleanups.after(() => first.stop());
    const placed = [await placeOrder(first, 'c1', 'p1'), await placeOrder(first, 'c2', 'p3'), await placeOrder(first, 'c3', 'p1')];
    const before = await orders(first);
    assert.deepEqual(new Set((before as { id: string }[]).map((o) => o.id)), new Set(placed));
    await first.stop(); // graceful: the orders subgraph saves a last snapshot
    assert.ok(
      firstLines.some((l) => l.msg === 'orders snapshot saved'),
      'the first run saved a snapshot on its way out',
    );

    const lines: LogLine[] = [];
    const second = await startOn(dataDir, lines);
    cleanups.after(() => second.stop());
    assert.deepEqual(await orders(second), before);
    const restored = lines.find((l) => l.msg?.startsWith('orders projection: restored a snapshot of 3 orders'));
    assert.ok(restored, `no restore in the log:\n${lines.map((l) => l.msg).join('\n')}`);
    assert.ok(
      restored.positions!.reduce((a, b) => a + b, 0) >= 3,
      `caught up from the snapshot's positions ${JSON.stringify(restored.positions)}, not from zero`,
    );
    // The log goes on where it was: a new order lands after the old ones, and all four are there.
    const fourth = await placeOrder(second, 'c4', 'p1');
    assert.equal((await orders(second)).length, 4);
    assert.ok(((await orders(second)) as { id: string }[]).some((o) => o.id === fourth));
  },
);
