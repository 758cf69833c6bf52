/**
 * The hostile-input corpus (test/hostile/corpus.ts) against the real example system, with the
 * settings it is written for (HOSTILE_GATEWAY_ENV): every input gets its documented coded answer
 * within its deadline, no answer carries a stack trace or a file path, no process dies, and a canary
 * query client and a canary subscriber see no failure and no stall over 1 s while it runs.
 *
 * Mismatches are reported as one table. HOSTILE_FILTER=<regex> runs only the inputs whose name
 * matches (e.g. `HOSTILE_FILTER=^websocket-protocol/`), for working on one group.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { Worker } from 'node:worker_threads';
import type { CanaryReport, CanaryTokens } from './canary.ts';
import { describe as describeAnswer, judge } from './check.ts';
import { buildCorpus } from './corpus.ts';
import { Credentials, type Mint } from './credentials.ts';
import { HOSTILE_GATEWAY_ENV } from './expect.ts';
import { SCENARIOS } from './scenarios.ts';
import { send, type Target } from './send.ts';
import type { Expectation, HostileInput, Observation } from './types.ts';
import { scaled, withTimeout } from '../support/wait.ts';

/** Inputs in flight at once: enough to load the gateway, few enough for a loaded 2-core machine. */
const CONCURRENCY = 6;
/** Past this, inputs not yet sent are reported as not sent: the run is bounded even when every input times out. */
const RUN_BUDGET_MS = scaled(240_000);
/** The longest stall a canary may see (the issue: none over 1 s). */
const MAX_CANARY_GAP_MS = scaled(1_000);

/** A source address of its own per input (127/8 is all loopback): a client of its own for rate limits and caps. */
const sourceAddress = (i: number) => `127.42.${Math.floor(i / 250)}.${(i % 250) + 1}`;

interface Outcome {
  input: HostileInput;
  seen: Observation | undefined;
  problems: string[];
  /** When it was sent and answered (epoch ms): to name what was in flight during a canary's longest stall. */
  sentAt?: number;
  answeredAt?: number;
}

/** The canaries in a worker thread (canary-worker.ts): stop() ends them and returns their reports. */
class CanaryThread {
  private readonly worker: Worker;
  private reports: Promise<CanaryReport[]> | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
  }

  static async start(gatewayUrl: string, tokens: CanaryTokens): Promise<CanaryThread> {
    const thread = new CanaryThread(new Worker(new URL('./canary-worker.ts', import.meta.url), { workerData: { gatewayUrl, tokens } }));
    await thread.next('live');
    return thread;
  }

  /** The next message of `type`, or the worker's error. */
  private next<T>(type: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type: string; reports?: unknown }) => {
        if (message.type !== type) return;
        this.worker.off('error', reject);
        this.worker.off('message', onMessage);
        resolve(message.reports as T);
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', reject);
    });
  }

  stop(): Promise<CanaryReport[]> {
    this.reports ??= (async () => {
      const reports = this.next<CanaryReport[]>('reports');
      this.worker.postMessage('stop');
      try {
        return await withTimeout(reports, 30_000, 'the canaries did not stop');
      } finally {
        await this.worker.terminate();
      }
    })();
    return this.reports;
  }
}

function expected(expect: HostileInput['expect']): string {
  const one = (e: Expectation) =>
    [
      e.status !== undefined && `HTTP ${[e.status].flat().join('|')}`,
      e.close !== undefined && `close ${[e.close].flat().join('|')}`,
      e.code !== undefined && [e.code].flat().join('|'),
      e.limit && `limit ${e.limit.join('|')}`,
      e.ok && 'data',
      e.open && 'open',
    ]
      .filter(Boolean)
      .join(' ');
  return (Array.isArray(expect) ? (expect as Expectation[]) : [expect as Expectation]).map(one).join(' / ');
}

function table(outcomes: Outcome[]): string {
  const rows = outcomes.map((o) => [
    o.input.name.slice(0, 70),
    expected(o.input.expect).slice(0, 60),
    o.seen ? describeAnswer(o.seen).slice(0, 90) : '-',
    o.problems.join(' / ').slice(0, 160),
  ]);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length), 8));
  return rows.map((r) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell)).join(' | ')).join('\n');
}

describe('hostile inputs against the example system', { timeout: scaled(600_000) }, () => {
  let system: ExampleSystem | undefined;
  let canaries: CanaryThread | undefined;
  const crashes: string[] = [];

  before(
    async () => {
      system = await startExampleSystem({
        host: '127.0.0.1',
        gatewayPort: 0,
        logLevel: 'error',
        env: { gateway: HOSTILE_GATEWAY_ENV },
        onExit: (name, code) => crashes.push(`${name} exited (${code})`),
      });
    },
    { timeout: scaled(300_000) },
  );
  after(async () => {
    await canaries?.stop().catch(() => {});
    await system?.stop();
  });

  test(
    'every input gets its documented answer in time, nothing leaks, and the canaries never stall',
    { timeout: scaled(480_000) },
    async (t) => {
      const sys = system!;
      const filter = process.env['HOSTILE_FILTER'] ? new RegExp(process.env['HOSTILE_FILTER']) : undefined;
      const corpus = buildCorpus().filter((input) => !filter || filter.test(input.name));
      const mint = (sys as ExampleSystem & { token?: Mint }).token?.bind(sys);
      const credentials = await Credentials.create(mint);
      if (!credentials.canMint) t.diagnostic('this system mints no tokens (ExampleSystem.token): "valid" credentials send none');
      const canaryToken = async (subject: string, customer: string | undefined, scopes: string[]) =>
        mint && `Bearer ${await mint({ subject, scopes, ...(customer && { customer }) })}`;
      canaries = await CanaryThread.start(sys.gatewayUrl, {
        query: await canaryToken('canary-query', undefined, []),
        subscriber: await canaryToken('canary-subscriber', undefined, ['orders:all']),
        producer: await canaryToken('canary-producer', 'c1', ['orders:write']),
      });

      const target: Target = { host: '127.0.0.1', port: Number(new URL(sys.gatewayUrl).port) };
      const outcomes: Outcome[] = new Array(corpus.length);
      const runDeadline = performance.now() + RUN_BUDGET_MS;
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < corpus.length; i = next++) {
          const input = corpus[i]!;
          if (performance.now() > runDeadline) {
            outcomes[i] = { input, seen: undefined, problems: ['not sent: the run budget was spent'] };
            continue;
          }
          const auth = 'auth' in input.request ? input.request.auth : undefined;
          const options = {
            localAddress: sourceAddress(i),
            authorization: await credentials.authorization(auth, `hostile-${i}`),
            deadlineMs: scaled(input.deadlineMs),
          };
          const sentAt = Date.now();
          const seen = await send(target, input.request, options);
          outcomes[i] = { input, seen, problems: judge(input, seen, sys.gatewayUrl), sentAt, answeredAt: Date.now() };
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const runSeconds = (performance.now() - started) / 1000;

      // The sequences, one at a time, each bounded; reported in the same table.
      let addresses = corpus.length;
      const scenarioContext = { target, publicUrl: sys.gatewayUrl, system: sys, credentials, address: () => sourceAddress(addresses++) };
      for (const scenario of SCENARIOS.filter((s) => !filter || filter.test(`scenario/${s.name}`))) {
        const input: HostileInput = {
          name: `scenario/${scenario.name}`,
          group: 'scenario',
          request: { transport: 'http' },
          expect: {},
          deadlineMs: scenario.deadlineMs,
        };
        const problems = await withTimeout(scenario.run(scenarioContext), scenario.deadlineMs, 'the scenario did not finish').catch(
          (err: unknown) => [String(err)],
        );
        outcomes.push({ input, seen: undefined, problems });
      }
      const reports: CanaryReport[] = await canaries.stop();
      canaries = undefined;

      const wrong = outcomes.filter((o) => o.problems.length > 0);
      const byTransport = Object.entries(Object.groupBy(corpus, (i) => i.request.transport)).map(([k, v]) => `${k} ${v!.length}`);
      t.diagnostic(`${corpus.length} inputs (${byTransport.join(', ')}) in ${runSeconds.toFixed(1)} s; ${wrong.length} wrong`);
      const slowest = outcomes.filter((o) => o.seen).sort((a, b) => b.seen!.elapsedMs - a.seen!.elapsedMs)[0];
      if (slowest) t.diagnostic(`slowest answer: ${slowest.input.name} in ${slowest.seen!.elapsedMs} ms`);
      for (const r of reports) {
        t.diagnostic(`canary ${r.name}: ${r.count} seen, longest gap ${r.longestGapMs} ms, ${r.failures.length} failures`);
        if (r.longestGapMs < 500) continue;
        const from = r.longestGapEndedAt - r.longestGapMs;
        const inFlight = outcomes.filter((o) => o.sentAt! < r.longestGapEndedAt && o.answeredAt! > from).map((o) => o.input.name);
        t.diagnostic(
          `  in flight during that gap: ${inFlight.slice(0, 8).join(', ') || 'no input (between the corpus and the scenarios, or in a scenario)'}`,
        );
      }
      if (wrong.length > 0) {
        const groups = Object.entries(Object.groupBy(wrong, (o) => o.input.group)).map(([g, v]) => `${g} ${v!.length}`);
        t.diagnostic(`wrong by group: ${groups.join(', ')}`);
      }

      const canaryProblems = reports.flatMap((r) => [
        ...r.failures.slice(0, 5).map((f) => `canary ${r.name} failed: ${f}`),
        ...(r.name !== 'order producer' && r.longestGapMs > MAX_CANARY_GAP_MS ? [`canary ${r.name} stalled for ${r.longestGapMs} ms`] : []),
      ]);
      assert.deepEqual(crashes, [], 'a process of the system died during the run');
      assert.equal(wrong.length, 0, `${wrong.length} of ${outcomes.length} inputs and scenarios got a wrong answer:\n${table(wrong)}`);
      assert.deepEqual(canaryProblems, []);
    },
  );
});
