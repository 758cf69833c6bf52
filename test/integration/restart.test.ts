/**
 * The example system restarts one process on demand (what the chaos run does to the gateway and the
 * orders subgraph): the process is killed, comes back on the port it had, and the system answers
 * through it again; a restart is not reported as a crash.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startExampleSystem, type ExampleSystem, type ProcessName } from '../../scripts/system.ts';
import { operatorHeaders, postGraphQL } from '../support/graphql.ts';
import { waitFor } from '../support/wait.ts';

describe('restarting one process of the example system', () => {
  let system: ExampleSystem | undefined;
  const crashes: ProcessName[] = [];

  before(
    async () => {
      system = await startExampleSystem({ host: '127.0.0.1', gatewayPort: 0, logLevel: 'warn', onExit: (name) => crashes.push(name) });
    },
    { timeout: 90_000 },
  );
  after(() => system?.stop(), { timeout: 60_000 });

  const ordersAnswer = async () => {
    const { body } = await postGraphQL<{ orders: unknown[] }>(
      `${system!.gatewayUrl}/graphql`,
      '{ orders(first: 1) { id } }',
      undefined,
      await operatorHeaders(system!),
    );
    return body.errors === undefined && Array.isArray(body.data?.orders);
  };

  for (const name of ['orders-subgraph', 'gateway'] as const) {
    test(`kill -9 and restart the ${name}: same port, a new process, answering again`, { timeout: 90_000 }, async () => {
      const before = system!.processes.get(name)!;
      const child = await system!.restart(name, { downMs: 200 });
      assert.notEqual(child.process.pid, before.process.pid);
      assert.equal(before.process.signalCode, 'SIGKILL');
      // The client port stays; the ops listener's is picked anew (ExampleSystem.opsUrl follows it).
      assert.equal(child.ports['http'], before.ports['http']);
      assert.equal(system!.processes.get(name), child);
      await waitFor(ordersAnswer, 60_000, `the system never answered through the restarted ${name}`, 250);
      assert.deepEqual(crashes, []);
    });
  }
});
