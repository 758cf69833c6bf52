/**
 * The differential corpus (issue 11, "Proven equal"): every case runs through stock
 * `@apollo/gateway` and through Interchange over the same subgraphs, and the two responses must be
 * equal (data and errors, with paths, codes and serviceName), but for declared differences
 * (harness.ts explains them, and the normalisations). Each supergraph has its hand-written cases and
 * its generated ones (generate.ts); one subtest per case, named by supergraph and description.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { casesOf } from './generate.ts';
import { SubgraphServer, assertSameResponse, normalise, startPair, type Pair } from './harness.ts';
import { SUPERGRAPHS } from './supergraphs/index.ts';

const server = new SubgraphServer();
before(() => server.start());
after(() => server.stop());

for (const def of SUPERGRAPHS) {
  const cases = casesOf(def);
  describe(def.name, { timeout: 120_000, concurrency: def.concurrency ?? 1 }, () => {
    let pair: Pair | undefined;
    before(async () => {
      pair = await startPair(def, server);
    });
    after(async () => {
      await pair?.stop();
    });
    for (const todo of def.todo ?? []) test(`${def.name}: ${todo}`, { todo: true });
    for (const c of cases) {
      test(`${def.name}: ${c.name}`, { timeout: 20_000 }, async (t) => {
        assert.ok(pair, 'the gateways did not start');
        const [stock, interchange] = await Promise.all([
          pair.stock.run(c.query, c.variables, c.operationName),
          pair.interchange.run(c.query, c.variables, c.operationName),
        ]);
        const context = `${c.query}\nvariables: ${JSON.stringify(c.variables ?? {})}`;
        if (c.requestError) assert.ok(!('data' in stock) && stock.errors, `stock did not refuse the operation: ${JSON.stringify(stock)}`);
        else assert.ok('data' in stock, `stock refused the operation: ${JSON.stringify(stock.errors)}\n${context}`);
        if (c.defect) {
          const { correct, stockGives, why } = c.defect;
          assert.ok(stockGives(stock), `stock no longer answers with the known defect (${why}): ${JSON.stringify(stock)}`);
          assert.notDeepStrictEqual(stock, correct, 'the correct answer must differ from stock');
          // Interchange corrects the planner's plans (gateway/src/executor/plan-corrections.ts).
          await t.test(`Interchange answers correctly (stock does not: ${why})`, () => {
            assertSameResponse(interchange, correct, context);
          });
          return;
        }
        const declared = c.interchange ?? def.interchange;
        assertSameResponse(interchange, declared ? normalise(declared.expected(stock)) : stock, context);
      });
    }
  });
}
