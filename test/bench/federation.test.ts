/**
 * A very short federation benchmark (`npm run bench -- --scenario federation`, one round of 1 s
 * per gateway and mode, 2 connections) as part of the suite: the scenario runs end to end, both
 * gateways answer the benchmark's query with the same ~87 KB of data, and every figure of the
 * report is there with a sane value. The same for its two sibling scenarios with tiny numbers:
 * distinct subscriptions (3 subscribers, 1 s of events) and the memory after distinct operations
 * (20 operations). It asserts no speed.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { runBench } from './bench-process.ts';
import type { FederationMemoryReport } from './federation/memory.ts';
import type { FederationFigures, FederationReport } from './federation/report.ts';
import type { FederationSubscriptionsReport } from './federation/subscriptions.ts';

/** The published benchmark's response to TestQuery, in bytes: ours must be within 10 % of it. */
const PUBLISHED_RESPONSE_BYTES = 87_000;

test('a short federation benchmark reports every figure for both gateways in both modes', { timeout: 150_000 }, async (t) => {
  const args = [
    ...['--scenario', 'federation'],
    ...['--federation-seconds', '2', '--federation-rounds', '1', '--federation-connections', '2', '--federation-warmup', '1'],
  ];
  const { stdout, output } = await runBench(t, args);
  const line = stdout.split('\n').find((l) => l.startsWith('{"bench":"federation",'));
  assert.ok(line, `no JSON line in the output:\n${output}`);
  const report = JSON.parse(line) as FederationReport & { figures: (FederationFigures & { vsBaseline: Record<string, number> })[] };

  assert.equal(report.checks.length, 4, 'an identical and a unique request to each gateway');
  for (const c of report.checks) {
    const what = `${c.gateway}, ${c.mode} request`;
    assert.equal(c.status, 200, what);
    assert.equal(c.errors, 0, what);
    assert.ok(
      Math.abs(c.responseBytes - PUBLISHED_RESPONSE_BYTES) <= PUBLISHED_RESPONSE_BYTES * 0.1,
      `${what}: ${c.responseBytes} bytes, not within 10 % of ${PUBLISHED_RESPONSE_BYTES}`,
    );
    assert.equal(c.sameDataAsBaseline, true, `${what}: its data differ from @apollo/gateway's`);
  }

  assert.deepEqual(report.figures.map((f) => `${f.mode} ${f.baseline ? 'baseline' : 'interchange'}`).sort(), [
    'identical baseline',
    'identical interchange',
    'unique baseline',
    'unique interchange',
  ]);
  for (const f of report.figures) {
    const what = `${f.gateway}, ${f.mode} requests`;
    assert.equal(f.rounds, 1, what);
    assert.deepEqual(f.failures, { non2xx: 0, graphqlErrors: 0, connectionErrors: 0 }, what);
    assert.ok(f.otherCpuSeconds >= 0, `${what}: ${f.otherCpuSeconds} CPU s of other processes`);
    assert.ok(f.peakRssMb > 20 && f.peakRssMb < 10_000, `${what}: peak RSS ${f.peakRssMb} MB`);
    // Stock can complete no request at all in so short a round on a loaded machine (its answers
    // were checked above); then it has no rates, latencies or ratio to check.
    if (f.baseline && f.requests === 0) {
      t.diagnostic(`${what}: no request completed within the round`);
      continue;
    }
    assert.ok(f.requests > 0 && f.requestsPerSecond > 0, `${what}: ${f.requests} requests, ${f.requestsPerSecond}/s`);
    assert.ok(f.latencyMs.p50 > 0 && f.latencyMs.p99 >= f.latencyMs.p50, `${what}: p50 ${f.latencyMs.p50}, p99 ${f.latencyMs.p99}`);
    assert.ok(f.cpuMsPerQuery > 0 && f.cpuMsPerQuery < 10_000, `${what}: ${f.cpuMsPerQuery} CPU ms per query`);
    assert.ok(
      f.gatewayCorePercent > 0 && f.gatewayCorePercent <= 100 * availableParallelism(),
      `${what}: the gateway at ${f.gatewayCorePercent} % of a core`,
    );
    // Neither gateway needs more than a few dozen; Interchange sends identical fetches of concurrent
    // queries once, so it can need fewer than one per subgraph and query.
    assert.ok(
      f.subgraphRequestsPerQuery > 0 && f.subgraphRequestsPerQuery <= 50,
      `${what}: ${f.subgraphRequestsPerQuery} subgraph requests per query`,
    );
    const base = report.figures.find((b) => b.baseline && b.mode === f.mode)!;
    const reported = f.vsBaseline['requestsPerSecond'] ?? null;
    if (base.requests === 0) {
      assert.equal(reported, null, `${what}: a ratio to a baseline without requests`);
      continue;
    }
    // The ratio is of the unrounded rates; the report's rates are rounded to 0.1 request/s.
    const [low, high] = [
      (f.requestsPerSecond - 0.05) / (base.requestsPerSecond + 0.05),
      (f.requestsPerSecond + 0.05) / (base.requestsPerSecond - 0.05),
    ];
    assert.ok(
      reported !== null && reported >= low * 0.99 && reported <= high * 1.01,
      `${what}: ratio ${reported}, not within ${low} to ${high}`,
    );
  }
});

test('a short distinct-subscriptions run delivers events through Interchange and the raw ws server', { timeout: 150_000 }, async (t) => {
  const args = [
    ...['--scenario', 'federation-subscriptions'],
    ...['--federation-subscribers', '3', '--federation-sub-rate', '2', '--federation-sub-seconds', '1', '--federation-warmup', '0.5'],
  ];
  const { stdout, output } = await runBench(t, args);
  assert.match(stdout, /Federation subscriptions: 3 distinct reviewAdded subscriptions/, output);
  const line = stdout.split('\n').find((l) => l.startsWith('{"bench":"federation-subscriptions"'));
  assert.ok(line, `no JSON line in the output:\n${output}`);
  const report = JSON.parse(line) as FederationSubscriptionsReport;
  // Distinct documents: one upstream subscription each, none shared.
  assert.equal(report.upstreamSubscriptions, 3);
  assert.ok(report.messageBytes > 100, `a delivery of ${report.messageBytes} bytes`);
  for (const [name, f] of [
    ['Interchange', report.gateway],
    ['raw ws', report.rawWs],
  ] as const) {
    assert.equal(f.clients, 3, name);
    assert.ok(f.events >= 2, `${name}: ${f.events} events`);
    assert.equal(f.expected, f.events * 3, name);
    assert.ok(f.delivered > 0 && f.delivered <= f.expected, `${name}: ${f.delivered} of ${f.expected} delivered`);
    assert.deepEqual(f.errors, {}, name);
    assert.ok(
      Number.isFinite(f.latencyMs.p50) && f.latencyMs.p99 >= f.latencyMs.p50,
      `${name}: p50 ${f.latencyMs.p50}, p99 ${f.latencyMs.p99}`,
    );
    assert.ok(f.cpuSeconds >= 0 && f.cpuMsPerDelivery >= 0, `${name}: ${f.cpuSeconds} CPU s, ${f.cpuMsPerDelivery} ms per delivery`);
    assert.ok(f.peakRssMb > 20 && f.peakRssMb < 10_000, `${name}: peak RSS ${f.peakRssMb} MB`);
  }
});

test('a short memory run reads both gateways before and after distinct operations', { timeout: 150_000 }, async (t) => {
  const args = ['--scenario', 'federation-memory', '--federation-memory-operations', '20', '--federation-warmup', '0.5'];
  const { stdout, output } = await runBench(t, args);
  assert.match(stdout, /Federation memory: 20 distinct operations/, output);
  const line = stdout.split('\n').find((l) => l.startsWith('{"bench":"federation-memory"'));
  assert.ok(line, `no JSON line in the output:\n${output}`);
  const report = JSON.parse(line) as FederationMemoryReport;
  assert.deepEqual(report.figures.map((f) => f.baseline).sort(), [false, true], 'Interchange and the baseline');
  for (const f of report.figures) {
    assert.equal(f.operations, 20, f.gateway);
    assert.equal(f.failed, 0, f.gateway);
    for (const reading of [f.before, f.after]) {
      assert.ok(reading.rssMb > 20 && reading.rssMb < 10_000, `${f.gateway}: RSS ${reading.rssMb} MB`);
      assert.ok(
        reading.heapUsedMb > 0 && reading.heapUsedAfterGcMb > 0,
        `${f.gateway}: heap ${reading.heapUsedMb} / ${reading.heapUsedAfterGcMb} MB`,
      );
    }
    assert.ok(f.peakRssMb >= f.after.rssMb, `${f.gateway}: peak RSS ${f.peakRssMb} MB`);
  }
});
