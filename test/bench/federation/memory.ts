/**
 * `npm run bench -- --scenario federation-memory`: what --federation-memory-operations (default
 * 10 000) distinct operations leave in a gateway's memory, Interchange next to stock
 * `@apollo/gateway` + `@apollo/server`, on the federation benchmark's subgraphs.
 *
 * Each gateway in turn (on a core of its own, as in the federation scenario) is warmed up with
 * --federation-warmup s of the benchmark's TestQuery (a closed loop of WARMUP_CONNECTIONS
 * connections); its memory is read; then it is sent the distinct operations, --federation-memory-
 * concurrency at a time, each a new document to parse, validate, plan and cache; its memory is
 * read again. --federation-memory-query chooses them:
 *
 *   full    TestQuery with an operation name and an alias of its own each
 *           (`query TestQuery<i> { ... top<i>: topProducts { ... } }`): the largest plan, and slow to
 *           plan (about a tenth of a second per operation on one core), so 10 000 take tens of minutes
 *   small   a three-subgraph operation of its own name and alias each
 *           (`query Small<i> { top<i>: topProducts { upc name inStock reviews { body author { username } } } }`)
 * Memory comes from the gateway itself
 * (memory-hook.mjs, preloaded: process.memoryUsage() as it is and after a full garbage collection)
 * and its peak RSS over the operations from /proc. Printed per gateway: RSS, heap used and heap used
 * after a full GC, before and after, the growth, the peak RSS, and the operations that failed; then
 * one line of JSON. Asserts nothing.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { Child } from '../../../lib/supervisor.ts';
import { ProcessSampler } from '../process-sampler.ts';
import { log } from '../scenario.ts';
import { round, table } from '../stats.ts';
import { runLoad } from './load.ts';
import { pin, planCpus, type CpuPlan } from './pinning.ts';
import { TEST_QUERY, identicalBody } from './query.ts';
import { cleanupFederationProcesses, pinRest, startApolloGateway, startFederationSetup, startInterchange } from './setup.ts';

export type MemoryQuery = 'full' | 'small';

export interface FederationMemoryOptions {
  /** Distinct operations sent to each gateway. */
  operations: number;
  /** Which operations: TestQuery variants, or a small one's. */
  query: MemoryQuery;
  /** Operations in flight at once. */
  concurrency: number;
  /** Seconds of TestQuery load before the first reading. */
  warmup: number;
}

/** Connections of the warm-up load. */
const WARMUP_CONNECTIONS = 4;
/** How long one operation may take, and all of one gateway's together, in ms. */
const OPERATION_TIMEOUT_MS = 30_000;
const ALL_OPERATIONS_MS = 30 * 60_000;
/** How long the gateway has to answer a memory reading, in ms. */
const READING_TIMEOUT_MS = 10_000;
/** A pause before each reading, so that what was in flight is done. */
const QUIET_MS = 1_000;

/** The i-th distinct operation: TestQuery (or a small operation) with an operation name and a `topProducts` alias of its own. */
export function distinctOperation(i: number, kind: MemoryQuery): { query: string; operationName: string } {
  if (kind === 'small') {
    const operationName = `Small${i}`;
    return {
      query: `query ${operationName} { top${i}: topProducts { upc name inStock reviews { body author { username } } } }`,
      operationName,
    };
  }
  const operationName = `TestQuery${i}`;
  const query = TEST_QUERY.replace('query TestQuery {', `query ${operationName} {`).replace(
    '\n  topProducts {',
    `\n  top${i}: topProducts {`,
  );
  if (!query.includes(`top${i}: topProducts`)) throw new Error('TestQuery no longer has a top-level topProducts to alias');
  return { query, operationName };
}

/** In MB. */
export interface MemoryReading {
  rssMb: number;
  heapUsedMb: number;
  /** Heap used after a full garbage collection: what the gateway retains. */
  heapUsedAfterGcMb: number;
}

export interface MemoryFigures {
  gateway: string;
  baseline: boolean;
  operations: number;
  /** Operations answered other than 200 with data and no errors (or not at all). */
  failed: number;
  seconds: number;
  before: MemoryReading;
  after: MemoryReading;
  peakRssMb: number;
}

export interface FederationMemoryReport {
  bench: 'federation-memory';
  options: FederationMemoryOptions;
  pinned: CpuPlan | null;
  figures: MemoryFigures[];
}

const MB = 1024 * 1024;

export async function federationMemoryBench(options: FederationMemoryOptions): Promise<FederationMemoryReport | undefined> {
  try {
    const started = Date.now();
    const setup = await startFederationSetup();
    const hook = {
      NODE_OPTIONS:
        `${process.env['NODE_OPTIONS'] ?? ''} --import ${pathToFileURL(join(import.meta.dirname, '..', 'memory-hook.mjs')).href}`.trim(),
    };
    const interchange = await startInterchange(setup, hook);
    const apollo = await startApolloGateway(setup, hook);
    const gateways = [
      { name: 'Interchange', baseline: false, child: interchange, url: `http://127.0.0.1:${interchange.ports.http}/graphql` },
      { name: '@apollo/gateway + @apollo/server', baseline: true, child: apollo, url: `http://127.0.0.1:${apollo.ports.http}/` },
    ];
    log(`federation-memory: subgraphs and gateways up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const cpus = await planCpus();
    if (cpus) await pinRest(cpus);
    else log('federation-memory: not pinned (one core, or no taskset)');

    const figures: MemoryFigures[] = [];
    for (const g of gateways) {
      if (cpus) for (const o of gateways) await pin(o.child.process.pid!, o === g ? cpus.gateway : cpus.rest);
      if (options.warmup > 0) {
        log(`federation-memory: warming ${g.name} up for ${options.warmup} s`);
        await runLoad({ url: g.url, body: identicalBody(), unique: false, connections: WARMUP_CONNECTIONS, seconds: options.warmup });
      }
      await sleep(QUIET_MS);
      const before = await readMemory(g.child);
      log(`federation-memory: ${g.name}: ${options.operations} distinct operations, ${options.concurrency} at a time`);
      const sampler = new ProcessSampler([{ name: g.name, pid: g.child.process.pid! }]);
      await sampler.start();
      const t0 = performance.now();
      const { sent, failed } = await sendDistinct(g.url, options);
      const seconds = (performance.now() - t0) / 1000;
      const { usage } = await sampler.stop();
      await sleep(QUIET_MS);
      const after = await readMemory(g.child);
      figures.push({
        gateway: g.name,
        baseline: g.baseline,
        operations: sent,
        failed,
        seconds,
        before,
        after,
        peakRssMb: Math.max(usage[0]!.peakRssMb, before.rssMb, after.rssMb),
      });
      log(`federation-memory: ${g.name}: RSS ${round(before.rssMb)} -> ${round(after.rssMb)} MB in ${round(seconds)} s, ${failed} failed`);
    }
    const report: FederationMemoryReport = { bench: 'federation-memory', options, pinned: cpus ?? null, figures };
    printReport(report);
    if (setup.childLines() > 0) log(`federation-memory: the processes logged ${setup.childLines()} warnings or errors`);
    log(`federation-memory: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return report;
  } catch (err) {
    log(`federation-memory failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
    return undefined;
  } finally {
    await cleanupFederationProcesses();
  }
}

/** The distinct operations, `concurrency` at a time, within ALL_OPERATIONS_MS: how many were sent and failed. */
async function sendDistinct(url: string, options: FederationMemoryOptions): Promise<{ sent: number; failed: number }> {
  const deadline = Date.now() + ALL_OPERATIONS_MS;
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < options.operations && Date.now() < deadline) {
      const body = JSON.stringify(distinctOperation(next++, options.query));
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS),
        });
        const result = (await response.json()) as { data?: unknown; errors?: unknown[] };
        if (response.status !== 200 || !result.data || (result.errors?.length ?? 0) > 0) failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  if (next < options.operations) log(`federation-memory: stopped after ${next} operations (${ALL_OPERATIONS_MS / 60_000} min)`);
  return { sent: next, failed };
}

/** The gateway's memory, from memory-hook.mjs over the IPC channel. */
async function readMemory(child: Child): Promise<MemoryReading> {
  interface Answer {
    bench?: string;
    now: NodeJS.MemoryUsage;
    afterGc: NodeJS.MemoryUsage;
  }
  const signal = AbortSignal.timeout(READING_TIMEOUT_MS);
  const answer = (async () => {
    for (;;) {
      const [message] = (await once(child.process, 'message', { signal })) as [Answer];
      if (message?.bench === 'memory') return message;
    }
  })();
  child.process.send({ bench: 'memory' });
  const { now, afterGc } = await answer.catch((err: unknown) => {
    throw new Error(
      `${child.name} gave no memory reading within ${READING_TIMEOUT_MS / 1000} s (is memory-hook.mjs preloaded?): ${String(err)}`,
    );
  });
  return { rssMb: now.rss / MB, heapUsedMb: now.heapUsed / MB, heapUsedAfterGcMb: afterGc.heapUsed / MB };
}

function printReport(report: FederationMemoryReport): void {
  const { options, figures } = report;
  const base = figures.find((f) => f.baseline);
  const growth = (f: MemoryFigures) => f.after.rssMb - f.before.rssMb;
  const out = [
    '',
    `Federation memory: ${options.operations} distinct operations (${options.query === 'full' ? 'TestQuery' : 'a small query'}, an operation name and an alias of its own each), ` +
      `${options.concurrency} at a time, after ${options.warmup} s of TestQuery warm-up; ` +
      (report.pinned ? `gateway under test on core ${report.pinned.gateway}` : 'not pinned to cores'),
    '',
    table([
      [
        'gateway',
        'operations',
        'failed',
        's',
        'RSS MB before',
        'after',
        'growth',
        'vs baseline',
        'peak RSS MB',
        'heap MB before',
        'after',
        'heap after GC MB before',
        'after',
        'growth',
      ],
      ...figures.map((f) => [
        f.gateway,
        f.operations,
        f.failed,
        round(f.seconds),
        round(f.before.rssMb),
        round(f.after.rssMb),
        round(growth(f)),
        base && growth(base) > 0 ? `${round(growth(f) / growth(base), 2)}x` : '-',
        round(f.peakRssMb),
        round(f.before.heapUsedMb),
        round(f.after.heapUsedMb),
        round(f.before.heapUsedAfterGcMb),
        round(f.after.heapUsedAfterGcMb),
        round(f.after.heapUsedAfterGcMb - f.before.heapUsedAfterGcMb),
      ]),
    ]),
    '',
    'RSS and heap as process.memoryUsage() gives them in the gateway; heap after GC: after a full collection (what is retained)',
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');
  const reading = (r: MemoryReading) => ({
    rssMb: round(r.rssMb),
    heapUsedMb: round(r.heapUsedMb),
    heapUsedAfterGcMb: round(r.heapUsedAfterGcMb),
  });
  process.stdout.write(
    JSON.stringify({
      ...report,
      figures: figures.map((f) => ({
        ...f,
        seconds: round(f.seconds, 2),
        before: reading(f.before),
        after: reading(f.after),
        peakRssMb: round(f.peakRssMb),
      })),
    }) + '\n',
  );
}
