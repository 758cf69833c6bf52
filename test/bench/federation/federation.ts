/**
 * `npm run bench -- --scenario federation`: the public federation gateways benchmark, re-created in
 * the project, with stock `@apollo/gateway` + `@apollo/server` as the baseline in the same run.
 *
 *   - the four subgraphs (accounts, inventory, products, reviews: subgraphs.ts) in one Node process
 *   - the supergraph composed from them (supergraph.ts), served by two gateway processes:
 *       Interchange         gateway/src/main.ts, with its rate limits and operation limits off (the
 *                           load comes from one client and the benchmark's query is deep)
 *       @apollo/gateway     apollo-gateway-main.ts, stock, the baseline
 *   - the benchmark's `TestQuery` (query.ts; an ~87 KB response), sent by a closed loop of
 *     --federation-connections connections (load.ts)
 *
 * Each gateway in turn gets a core of its own (taskset; the subgraphs and this process share the
 * others). Two modes, each warmed up per gateway (--federation-warmup s) and then measured in
 * --federation-rounds rounds of --federation-seconds s per gateway, alternating which goes first:
 *
 *   unique      every request differs (an undeclared variable with a new value each time: query.ts),
 *               so nothing can be deduplicated
 *   identical   the same body every time
 *
 * Before the load, one request of each kind goes to each gateway: both must answer without errors,
 * and the data of the two is compared (printed, not asserted).
 *
 * Figures per gateway and mode: requests/s (responses over the measured time), p50/p99 of every
 * response time of every round, gateway CPU ms per query (its user + system CPU over the measured
 * window / responses), its peak RSS, subgraph requests per query (the subgraphs' own counters over
 * the round, once the gateway has finished what was in flight and is idle, / requests sent, as
 * requests still in flight when a round ends are served too), and each figure's ratio to the
 * baseline. Each round starts only once the gateway of the round before is idle. Asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Child } from '../../../lib/supervisor.ts';
import { ProcessSampler, cpuSeconds } from '../process-sampler.ts';
import { log } from '../scenario.ts';
import { distribution } from '../stats.ts';
import { runLoad, type LoadResult } from './load.ts';
import { pin, planCpus, type CpuPlan } from './pinning.ts';
import { identicalBody, uniqueBody } from './query.ts';
import { printFederationReport, type Check, type FederationFigures, type FederationReport, type Mode } from './report.ts';
import { cleanupFederationProcesses, pinRest, startApolloGateway, startFederationSetup, startInterchange } from './setup.ts';
import { readSubgraphCounts, type SubgraphCounts } from './subgraphs-server.ts';

export interface FederationBenchOptions {
  /** Measured seconds per round and gateway. */
  seconds: number;
  rounds: number;
  connections: number;
  /** Unmeasured seconds of load per gateway before each mode's rounds. */
  warmup: number;
}

interface Gateway {
  name: string;
  baseline: boolean;
  child: Child;
  url: string;
}

interface Accumulated {
  rounds: { requestsPerSecond: number }[];
  loads: LoadResult[];
  cpuSeconds: number;
  /** Seconds the gateway's CPU was sampled over. */
  windowSeconds: number;
  /** CPU seconds of the machine's other processes (not this bench's) in the windows. */
  otherCpuSeconds: number;
  peakRssMb: number;
  subgraphRequests: number;
}

/** Stops every process the federation scenarios started. */
export const cleanupFederationBench = cleanupFederationProcesses;

export async function federationBench(options: FederationBenchOptions): Promise<FederationReport | undefined> {
  try {
    const started = Date.now();
    const setup = await startFederationSetup();
    const { subgraphsUrl } = setup;
    // Identical inbound queries in flight run once (only the identical mode has any: a unique request's
    // variables differ, and they are part of what must be the same).
    const interchange = await startInterchange(setup, { DEDUPLICATE_REQUESTS: 'true' });
    const apollo = await startApolloGateway(setup);
    const gateways: Gateway[] = [
      { name: 'Interchange', baseline: false, child: interchange, url: `http://127.0.0.1:${interchange.ports.http}/graphql` },
      { name: '@apollo/gateway + @apollo/server', baseline: true, child: apollo, url: `http://127.0.0.1:${apollo.ports.http}/` },
    ];
    log(`federation: subgraphs and gateways up in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const cpus = await planCpus();
    if (cpus) await pinRest(cpus);
    else log('federation: not pinned (one core, or no taskset): the gateways share cores with the load');

    const checks = await checkAnswers(gateways);
    for (const c of checks)
      if (c.errors > 0 || c.status !== 200) log(`federation: ${c.gateway} (${c.mode}) answered ${c.status} with ${c.errors} errors`);

    const modes: { mode: Mode; body: string }[] = [
      { mode: 'unique', body: uniqueBody() },
      { mode: 'identical', body: identicalBody() },
    ];
    const figures: FederationFigures[] = [];
    for (const { mode, body } of modes) {
      const acc = new Map<Gateway, Accumulated>(
        gateways.map((g) => [
          g,
          { rounds: [], loads: [], cpuSeconds: 0, windowSeconds: 0, otherCpuSeconds: 0, peakRssMb: 0, subgraphRequests: 0 },
        ]),
      );
      if (options.warmup > 0) {
        for (const g of gateways) {
          if (cpus) await pinUnderTest(cpus, gateways, g);
          log(`federation ${mode}: warming ${g.name} up for ${options.warmup} s`);
          await runLoad({ url: g.url, body, unique: mode === 'unique', connections: options.connections, seconds: options.warmup });
          await settle(subgraphsUrl, g.child.process.pid!);
        }
      }
      for (let round = 0; round < options.rounds; round++) {
        for (const g of round % 2 === 0 ? gateways : [...gateways].reverse()) {
          if (cpus) await pinUnderTest(cpus, gateways, g);
          const a = acc.get(g)!;
          const before = await readSubgraphCounts(subgraphsUrl);
          // The gateway first; the bench's other processes too, so that `otherCpuSeconds` is the rest of the machine's.
          const sampler = new ProcessSampler([
            { name: g.name, pid: g.child.process.pid! },
            ...[setup.subgraphs, ...gateways.filter((o) => o !== g).map((o) => o.child)].map((c) => ({
              name: c.name,
              pid: c.process.pid!,
            })),
            { name: 'bench (load)', pid: process.pid },
          ]);
          await sampler.start();
          const load = await runLoad({
            url: g.url,
            body,
            unique: mode === 'unique',
            connections: options.connections,
            seconds: options.seconds,
          });
          const { usage, windowSeconds, machine } = await sampler.stop();
          const after = await settle(subgraphsUrl, g.child.process.pid!);
          const used = usage[0]!;
          a.loads.push(load);
          a.cpuSeconds += used.cpuSeconds;
          a.windowSeconds += windowSeconds;
          a.otherCpuSeconds += machine.otherCpuSeconds;
          a.peakRssMb = Math.max(a.peakRssMb, used.peakRssMb);
          a.subgraphRequests += total(after) - total(before);
          a.rounds.push({ requestsPerSecond: load.responses / load.seconds });
          log(
            `federation ${mode} round ${round + 1}/${options.rounds}: ${g.name} ${(load.responses / load.seconds).toFixed(1)} requests/s, ` +
              `${((used.cpuSeconds * 1000) / Math.max(1, load.responses)).toFixed(2)} CPU ms per query`,
          );
        }
      }
      for (const g of gateways) figures.push(summarize(mode, g, acc.get(g)!));
    }
    const report: FederationReport = { options, pinned: cpus ?? null, checks, figures };
    printFederationReport(report);
    if (setup.childLines() > 0) log(`federation: the processes logged ${setup.childLines()} warnings or errors`);
    log(`federation: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return report;
  } catch (err) {
    log(`federation failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
    return undefined;
  } finally {
    await cleanupFederationBench();
  }
}

/** The gateway under test on its own core; the other (idle) with the rest. */
async function pinUnderTest(cpus: CpuPlan, gateways: Gateway[], underTest: Gateway): Promise<void> {
  for (const g of gateways) await pin(g.child.process.pid!, g === underTest ? cpus.gateway : cpus.rest);
}

const total = (counts: SubgraphCounts) => Object.values(counts).reduce((sum, n) => sum + n, 0);

/** How often `settle` looks, in ms; it needs QUIET_LOOKS quiet looks in a row, within SETTLE_MAX_MS. */
const SETTLE_LOOK_MS = 250;
const QUIET_LOOKS = 2;
const SETTLE_MAX_MS = 60_000;
/** Gateway CPU per look below which it counts as idle, in seconds (10 % of a core). */
const IDLE_CPU_SECONDS = (SETTLE_LOOK_MS / 1000) * 0.1;

/**
 * Waits until the gateway has finished what was still in flight when the load stopped (a closed
 * loop leaves one request per connection; on a busy machine they take seconds): the subgraphs'
 * counters stand still and the gateway is idle, for QUIET_LOOKS looks in a row. Returns the counters.
 */
async function settle(subgraphsUrl: string, gatewayPid: number): Promise<SubgraphCounts> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  let counts = await readSubgraphCounts(subgraphsUrl);
  let cpu = (await cpuSeconds(gatewayPid)) ?? 0;
  let quiet = 0;
  while (quiet < QUIET_LOOKS && Date.now() < deadline) {
    await sleep(SETTLE_LOOK_MS);
    const nowCounts = await readSubgraphCounts(subgraphsUrl);
    const nowCpu = (await cpuSeconds(gatewayPid)) ?? 0;
    quiet = total(nowCounts) === total(counts) && nowCpu - cpu < IDLE_CPU_SECONDS ? quiet + 1 : 0;
    counts = nowCounts;
    cpu = nowCpu;
  }
  if (quiet < QUIET_LOOKS) log(`federation: the gateway (pid ${gatewayPid}) was still busy ${SETTLE_MAX_MS / 1000} s after the load`);
  return counts;
}

/** One request of each kind to each gateway: status, errors, response size, and whether the data agree. */
async function checkAnswers(gateways: Gateway[]): Promise<Check[]> {
  const checks: Check[] = [];
  const dataOf = new Map<string, string>();
  for (const g of gateways) {
    for (const [mode, body] of [
      ['identical', identicalBody()],
      ['unique', uniqueBody(randomBytes(8).toString('hex'))],
    ] as const) {
      const response = await fetch(g.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await response.text();
      let parsed: { data?: unknown; errors?: unknown[] } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        // Not JSON: counted as an error below.
      }
      const data = JSON.stringify(parsed.data ?? null);
      if (mode === 'identical') dataOf.set(g.name, data);
      checks.push({
        gateway: g.name,
        mode,
        status: response.status,
        errors: parsed.errors?.length ?? (parsed.data === undefined ? 1 : 0),
        responseBytes: Buffer.byteLength(text),
        dataBytes: Buffer.byteLength(data),
        sameDataAsBaseline: false,
      });
    }
  }
  const baseline = dataOf.get(gateways.find((g) => g.baseline)!.name);
  for (const c of checks) c.sameDataAsBaseline = baseline !== 'null' && dataOf.get(c.gateway) === baseline;
  return checks;
}

function summarize(mode: Mode, g: Gateway, a: Accumulated): FederationFigures {
  const responses = a.loads.reduce((sum, l) => sum + l.responses, 0);
  const sent = a.loads.reduce((sum, l) => sum + l.sent, 0);
  const seconds = a.loads.reduce((sum, l) => sum + l.seconds, 0);
  const latency = distribution(a.loads.flatMap((l) => l.latenciesMs));
  return {
    mode,
    gateway: g.name,
    baseline: g.baseline,
    rounds: a.loads.length,
    requests: responses,
    seconds,
    requestsPerSecond: responses / seconds,
    requestsPerSecondByRound: a.rounds.map((r) => r.requestsPerSecond),
    latencyMs: { p50: latency.p50, p99: latency.p99, max: latency.max },
    cpuMsPerQuery: (a.cpuSeconds * 1000) / responses,
    gatewayCorePercent: (a.cpuSeconds / a.windowSeconds) * 100,
    otherCpuSeconds: a.otherCpuSeconds,
    peakRssMb: a.peakRssMb,
    subgraphRequestsPerQuery: a.subgraphRequests / sent,
    failures: {
      non2xx: a.loads.reduce((sum, l) => sum + l.non2xx, 0),
      graphqlErrors: a.loads.reduce((sum, l) => sum + l.graphqlErrors, 0),
      connectionErrors: a.loads.reduce((sum, l) => sum + l.connectionErrors, 0),
    },
  };
}
