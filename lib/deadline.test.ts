import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANSWER_MARGIN_MS, Deadline, TIMEOUT_HEADER, deadlineFrom } from './deadline.ts';

describe('deadlines from the interchange-timeout-ms header', { timeout: 10_000 }, () => {
  const now = () => 1_000_000;

  test("the caller's budget less the answer margin, capped by the subgraph's own limit", () => {
    assert.equal(deadlineFrom({ [TIMEOUT_HEADER]: '5000' }, 8_000, now).remaining(), 5_000 - ANSWER_MARGIN_MS);
    assert.equal(deadlineFrom({ [TIMEOUT_HEADER]: '60000' }, 8_000, now).remaining(), 8_000);
  });

  test('without a usable header the own limit applies', () => {
    for (const value of [undefined, '', 'soon', '-5', '1.5', '1e9']) {
      assert.equal(deadlineFrom({ [TIMEOUT_HEADER]: value }, 8_000, now).remaining(), 8_000, String(value));
    }
  });

  test('a budget smaller than the margin leaves nothing', () => {
    assert.equal(deadlineFrom({ [TIMEOUT_HEADER]: '50' }, 8_000, now).remaining(), 0);
  });

  test('remaining time counts down with the clock and stops at 0', () => {
    let clock = 0;
    const deadline = Deadline.after(100, () => clock);
    clock = 40;
    assert.equal(deadline.remaining(), 60);
    clock = 500;
    assert.equal(deadline.remaining(), 0);
  });
});
