/**
 * A very short federation benchmark (`npm run bench -- --scenario federation`, one round of 1 s
 * per gateway and mode, 2 connections) as part of the suite: the scenario runs end to end, both
 * gateways answer the benchmark's query with the same ~87 KB of data, and every figure of the
 * report is there with a sane value. It asserts no speed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { childEnv, repoRoot } from '../../lib/supervisor.ts';
import type { FederationFigures, FederationReport } from './federation/report.ts';

/** The published benchmark's response to TestQuery, in bytes: ours must be within 10 % of it. */
const PUBLISHED_RESPONSE_BYTES = 87_000;

test('a short federation benchmark reports every figure for both gateways in both modes', { timeout: 150_000 }, async (t) => {
  const args = [
    ...['--scenario', 'federation'],
    ...['--federation-seconds', '1', '--federation-rounds', '1', '--federation-connections', '2', '--federation-warmup', '0.5'],
  ];
  const child = spawn(process.execPath, ['test/bench/run.ts', ...args], {
    cwd: repoRoot,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    // The bench stops what it started on SIGINT; SIGKILL if it does not end.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (d: Buffer) => ((stdout += d), (output += d)));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, output);

  const line = stdout.split('\n').find((l) => l.startsWith('{"bench":"federation"'));
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
    assert.ok(f.requests > 0 && f.requestsPerSecond > 0, `${what}: ${f.requests} requests, ${f.requestsPerSecond}/s`);
    assert.ok(f.latencyMs.p50 > 0 && f.latencyMs.p99 >= f.latencyMs.p50, `${what}: p50 ${f.latencyMs.p50}, p99 ${f.latencyMs.p99}`);
    assert.ok(f.cpuMsPerQuery > 0 && f.cpuMsPerQuery < 10_000, `${what}: ${f.cpuMsPerQuery} CPU ms per query`);
    assert.ok(
      f.gatewayCorePercent > 0 && f.gatewayCorePercent <= 100 * availableParallelism(),
      `${what}: the gateway at ${f.gatewayCorePercent} % of a core`,
    );
    assert.ok(f.otherCpuSeconds >= 0, `${what}: ${f.otherCpuSeconds} CPU s of other processes`);
    assert.ok(f.peakRssMb > 20 && f.peakRssMb < 10_000, `${what}: peak RSS ${f.peakRssMb} MB`);
    // The query needs the four subgraphs at least once each; neither gateway needs more than a few dozen.
    assert.ok(
      f.subgraphRequestsPerQuery >= 4 && f.subgraphRequestsPerQuery <= 50,
      `${what}: ${f.subgraphRequestsPerQuery} subgraph requests per query`,
    );
    assert.deepEqual(f.failures, { non2xx: 0, graphqlErrors: 0, connectionErrors: 0 }, what);
    const base = report.figures.find((b) => b.baseline && b.mode === f.mode)!;
    const ratio = f.requestsPerSecond / base.requestsPerSecond;
    assert.ok(
      Math.abs(f.vsBaseline['requestsPerSecond']! - ratio) <= ratio * 0.01,
      `${what}: ratio ${f.vsBaseline['requestsPerSecond']}, not ${ratio}`,
    );
  }
});
