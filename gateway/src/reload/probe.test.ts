/** The probe's answers follow the served supergraph: a subgraph a reload removed leaves nothing behind. */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { SubgraphProbe } from './probe.ts';

/** A subgraph whose `/healthz` answers only when the test says. */
async function heldSubgraph(t: { after(fn: () => unknown): void }) {
  const waiting: ServerResponse[] = [];
  let asked!: () => void;
  const firstAsked = new Promise<void>((resolve) => (asked = resolve));
  const server = createServer((_req, res) => {
    waiting.push(res);
    asked();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const answerAll = () => {
    for (const res of waiting.splice(0)) res.end('ok');
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, firstAsked, answerAll };
}

const INTERVAL_MS = 60_000;

/** A probe watching a held subgraph, once the probe has asked it. */
async function probing(t: TestContext) {
  const subgraph = await heldSubgraph(t);
  const probe = new SubgraphProbe({ timeoutMs: 5_000 });
  t.after(() => probe.stop());
  const held = { name: 'held', url: subgraph.url };
  probe.watch([held], INTERVAL_MS);
  await subgraph.firstAsked;
  return { subgraph, probe, held };
}

describe('subgraph probe', { timeout: 10_000 }, () => {
  test('a subgraph removed and later added back has no answer from before its removal', async (t) => {
    const { subgraph, probe, held } = await probing(t);
    subgraph.answerAll();
    await waitUntil(() => probe.report()[0]?.answers === true);
    probe.watch([], INTERVAL_MS);
    probe.watch([held], INTERVAL_MS);
    assert.deepEqual(probe.report(), [{ ...held, answers: null }]);
    subgraph.answerAll();
  });

  test('an answer that arrives after its subgraph was removed is dropped', async (t) => {
    const { subgraph, probe, held } = await probing(t);
    probe.watch([], INTERVAL_MS);
    subgraph.answerAll();
    // Long enough for the answer to be read and recorded, were it recorded.
    await new Promise((resolve) => setTimeout(resolve, 200));
    probe.watch([{ name: 'held', url: 'http://127.0.0.1:1/graphql' }, held], INTERVAL_MS);
    assert.equal(probe.report()[1]?.answers, null);
    probe.stop();
    subgraph.answerAll();
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), 'condition never held');
}
