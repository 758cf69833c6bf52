/**
 * A very short edge benchmark (`npm run bench -- edge` with 2 rounds of 10 requests) as part of the
 * suite: it runs end to end with no failed request, and prints every figure with a sane value:
 * gateway CPU per request with and without identity, limits and rates, and the time to refuse a
 * document just over each operation limit. It asserts no speed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBench } from './bench-process.ts';
import { JUST_OVER } from './edge.ts';

interface EdgeReport {
  bench: 'edge';
  options: { requests: number; rounds: number; concurrency: number };
  onUsPerRequest: number;
  offUsPerRequest: number;
  addedUsPerRequest: number;
  failures: { on: number; off: number };
  refusals: { limit: string; requests: number; p50Ms: number; p99Ms: number }[];
}

test(
  'a short edge benchmark reports CPU per request with and without the edge, and a refusal time per limit',
  { timeout: 240_000 },
  async (t) => {
    const { stdout, output } = await runBench(t, ['edge', '--edge-requests', '10', '--edge-rounds', '2', '--edge-concurrency', '2']);
    const line = stdout.split('\n').find((l) => l.startsWith('{"bench":"edge",'));
    assert.ok(line, `no JSON line in the output:\n${output}`);
    const report = JSON.parse(line) as EdgeReport;

    assert.deepEqual(report.options, { requests: 10, rounds: 2, concurrency: 2 });
    assert.deepEqual(report.failures, { on: 0, off: 0 });
    for (const [what, us] of [
      ['on', report.onUsPerRequest],
      ['off', report.offUsPerRequest],
    ] as const)
      assert.ok(Number.isFinite(us) && us > 0 && us < 10_000_000, `${what}: ${us} µs of gateway CPU per request`);
    assert.ok(Number.isFinite(report.addedUsPerRequest), `added: ${report.addedUsPerRequest} µs`);

    assert.deepEqual(report.refusals.map((r) => r.limit).sort(), Object.keys(JUST_OVER).sort(), 'a refusal time for every limit');
    for (const r of report.refusals) {
      assert.equal(r.requests, 10, r.limit);
      assert.ok(r.p50Ms > 0 && r.p99Ms >= r.p50Ms && r.p99Ms < 60_000, `${r.limit}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
    }
    // The human-readable report says the same.
    assert.match(stdout, /added by identity, limits and rates: -?[\d.]+ µs per request/);
    assert.match(stdout, /Refusals: time to the OPERATION_LIMIT_EXCEEDED answer/);
    for (const limit of Object.keys(JUST_OVER)) assert.match(stdout, new RegExp(`^${limit} +10 `, 'm'), `no row for ${limit}`);
  },
);
