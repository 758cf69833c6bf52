import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readGatewayConfig } from '../../gateway/src/config.ts';
import { ANSWER_MARGIN_MS } from '../../lib/deadline.ts';
import { ordersConfig } from './index.ts';

/** The one setting without a default. */
const SECRET = { IDENTITY_SECRET: 'a-secret-of-at-least-thirty-two-characters' };

describe('the orders time budgets', { timeout: 10_000 }, () => {
  test('by default publishing and read-your-writes each get their whole wait within a mutation, with room for the checks', () => {
    const config = ordersConfig.parse(SECRET);
    assert.ok(config.PUBLISH_TIMEOUT_MS + config.READ_YOUR_WRITES_TIMEOUT_MS < config.COMMAND_TIMEOUT_MS);
  });

  test('a mutation budget that cannot hold publishing and read-your-writes is refused, naming COMMAND_TIMEOUT_MS', () => {
    const result = ordersConfig.safeParse({
      ...SECRET,
      COMMAND_TIMEOUT_MS: '9000',
      PUBLISH_TIMEOUT_MS: '6000',
      READ_YOUR_WRITES_TIMEOUT_MS: '3000',
    });
    assert.equal(result.success, false);
    assert.deepEqual(
      result.error?.issues.map((i) => i.path.join('.')),
      ['COMMAND_TIMEOUT_MS'],
    );
  });

  test("by default a mutation answers before the gateway's subgraph timeout, even from a caller that sends no deadline", () => {
    const orders = ordersConfig.parse(SECRET);
    const gateway = readGatewayConfig(SECRET, []);
    assert.ok(orders.COMMAND_TIMEOUT_MS + ANSWER_MARGIN_MS <= gateway.SUBGRAPH_TIMEOUT_MS);
  });
});
