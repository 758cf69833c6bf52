/**
 * `npm run bench [-- SCENARIO ...]`: the benchmarks, every one by default, or those named:
 *
 *   subscriptions   federated subscriptions under load (below)
 *   replay          how fast the orders projection comes back after a restart: a cold rebuild and
 *                   a restart from a snapshot, on the embedded log and on the Kafka mock (replay.ts)
 *   edge            the gateway CPU per request that identity and the operation limits add: a
 *                   simple query with a token and the limits on, next to one without (edge.ts)
 *   federation      the public federation gateways benchmark re-created (four subgraphs, its nested
 *                   TestQuery), Interchange next to stock @apollo/gateway + @apollo/server in
 *                   alternating rounds, unique and identical requests (federation/federation.ts)
 *   federation-subscriptions
 *                   distinct reviewAdded subscriptions through Interchange on the same subgraphs,
 *                   one socket each, next to a bare `ws` server sending as many clients messages of
 *                   the same size at the same rate (the ceiling) (federation/subscriptions.ts)
 *   federation-memory
 *                   RSS and heap of Interchange and stock @apollo/gateway after warm-up and after
 *                   10 000 distinct operations (federation/memory.ts)
 *
 * Scenarios are named as positionals or with --scenario NAME (repeatable): `npm run bench -- edge`
 * and `npm run bench -- --scenario edge` are the same.
 *
 * Subscriptions: federated subscriptions under load. Starts the whole example system as processes
 * on the librdkafka mock cluster, publishes order events to Kafka at a steady rate, and measures
 * what graphql-ws subscribers of the gateway receive:
 *
 *   (a) N identical subscribers (one shared upstream subscription and one resolution per event),
 *       at --rate events/s
 *   (b) M distinct subscriptions (one upstream subscription and one resolution per event each),
 *       at --distinct-rate events/s: each event costs M resolutions, so it needs a far lower rate
 *
 * It prints figures, asserts nothing: subscribers, events/s produced and delivered, latency from
 * produce to client (p50/p99/max), and CPU and RSS of the gateway, the orders subgraph and the
 * other processes over the measured window; then one line of JSON.
 *
 *   (c) the M distinct subscriptions of (b) again while the gateway reloads its supergraph every
 *       --reload-every seconds: the reload's effect on delivery latency, next to (b)
 *
 *   npm run bench -- [subscriptions] [--subscribers 500] [--distinct 50] [--distinct-by name|types|customer]
 *                    [--rate 50] [--distinct-rate 2] [--seconds 10] [--warmup 2] [--sockets 10]
 *                    [--reload-every 2] [--profile DIR]
 *
 *   npm run bench -- edge [--edge-requests 1000] [--edge-rounds 6] [--edge-concurrency 4]
 *
 *   npm run bench -- --scenario federation [--federation-seconds 5] [--federation-rounds 1]
 *                    [--federation-connections 50] [--federation-warmup 2]
 *     (the issue's measured set-up: --federation-seconds 20 --federation-rounds 3)
 *
 *   npm run bench -- --scenario federation-subscriptions [--federation-subscribers 200] [--federation-sub-rate 2]
 *                    [--federation-sub-seconds 10] [--federation-warmup 2]
 *     (the issue's target: --federation-subscribers 1000 --federation-sub-rate 2)
 *
 *   npm run bench -- --scenario federation-memory [--federation-memory-operations 10000]
 *                    [--federation-memory-concurrency 4] [--federation-memory-query full|small] [--federation-warmup 2]
 *     (full: TestQuery variants, about 0.1 s of planning each, so 10 000 take tens of minutes per
 *     gateway; small: a small three-subgraph query's variants)
 *
 *   npm run bench -- replay [--replay-events 1000000] [--replay-kafka-events 100000]
 *                    [--replay-partitions 6] [--replay-kafka-partitions 24]
 *
 * --federation-warmup is the warm-up of the three federation scenarios (events for the subscriptions).
 * --subscribers 0 or --distinct 0 skips that scenario (--reload-every 0 skips (c)); --replay-events 0 or --replay-kafka-events 0 that log. --profile writes V8 CPU profiles of the
 * gateway and the orders subgraph over each measured window to DIR and prints where time went.
 * The fulfillment service's delays are set out of reach so that the bench is the only producer
 * (it publishes the whole life cycle itself: placed, paid, shipped or cancelled).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ProcessName } from '../../scripts/system.ts';
import { startKafkaSystem, type KafkaSystem } from '../kafka/orders-support.ts';
import type { ProcessTarget } from './process-sampler.ts';
import { OrderEventSource, PacedProducer } from './producer.ts';
import { cleanupEdgeBench, edgeBench } from './edge.ts';
import { cleanupFederationBench, federationBench } from './federation/federation.ts';
import { federationMemoryBench, type MemoryQuery } from './federation/memory.ts';
import { federationSubscriptionsBench } from './federation/subscriptions.ts';
import { cleanupReplayBench, replayBench } from './replay.ts';
import { log, runScenario, type BenchContext, type ScenarioResult } from './scenario.ts';
import { round, table } from './stats.ts';
import { distinctSpecs, identicalSpecs, type DistinctBy } from './subscribers.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    subscribers: { type: 'string', default: '500' },
    distinct: { type: 'string', default: '50' },
    'distinct-by': { type: 'string', default: 'name' },
    rate: { type: 'string', default: '50' },
    'distinct-rate': { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    sockets: { type: 'string', default: '10' },
    profile: { type: 'string' },
    'replay-events': { type: 'string', default: '1000000' },
    'replay-kafka-events': { type: 'string', default: '100000' },
    'replay-partitions': { type: 'string', default: '6' },
    'replay-kafka-partitions': { type: 'string', default: '24' },
    'edge-requests': { type: 'string', default: '1000' },
    'edge-rounds': { type: 'string', default: '6' },
    'edge-concurrency': { type: 'string', default: '4' },
    'reload-every': { type: 'string', default: '2' },
    scenario: { type: 'string', multiple: true },
    'federation-seconds': { type: 'string', default: '5' },
    'federation-rounds': { type: 'string', default: '1' },
    'federation-connections': { type: 'string', default: '50' },
    'federation-warmup': { type: 'string', default: '2' },
    'federation-subscribers': { type: 'string', default: '200' },
    'federation-sub-rate': { type: 'string', default: '2' },
    'federation-sub-seconds': { type: 'string', default: '10' },
    'federation-memory-operations': { type: 'string', default: '10000' },
    'federation-memory-concurrency': { type: 'string', default: '4' },
    'federation-memory-query': { type: 'string', default: 'full' },
  },
});

const SCENARIOS = ['subscriptions', 'replay', 'edge', 'federation', 'federation-subscriptions', 'federation-memory'] as const;
type Scenario = (typeof SCENARIOS)[number];
const named = [...positionals, ...(values.scenario ?? [])];
const unknown = named.filter((p) => !(SCENARIOS as readonly string[]).includes(p));
if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}: choose from ${SCENARIOS.join(', ')}`);
const scenarios = new Set<Scenario>(named.length > 0 ? (named as Scenario[]) : SCENARIOS);

function count(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got "${text}"`);
  return n;
}
const options = {
  subscribers: Math.floor(count('subscribers', values.subscribers, 0, 20_000)),
  distinct: Math.floor(count('distinct', values.distinct, 0, 2_000)),
  distinctBy: values['distinct-by'] as DistinctBy,
  rate: count('rate', values.rate, 0.1, 20_000),
  distinctRate: count('distinct-rate', values['distinct-rate'], 0.1, 20_000),
  seconds: count('seconds', values.seconds, 0.5, 300),
  warmup: count('warmup', values.warmup, 0, 60),
  sockets: Math.floor(count('sockets', values.sockets, 1, 1_000)),
  reloadEvery: count('reload-every', values['reload-every'], 0, 300),
};
const replayOptions = {
  embeddedEvents: Math.floor(count('replay-events', values['replay-events'], 0, 10_000_000)),
  kafkaEvents: Math.floor(count('replay-kafka-events', values['replay-kafka-events'], 0, 1_000_000)),
  embeddedPartitions: Math.floor(count('replay-partitions', values['replay-partitions'], 1, 256)),
  kafkaPartitions: Math.floor(count('replay-kafka-partitions', values['replay-kafka-partitions'], 1, 256)),
};
/**
 * The bench's subscribers all connect from one address, so the gateway sees one client standing
 * for thousands: its per-client rates and caps (gateway/src/edge/) are lifted.
 */
const UNLIMITED_CLIENT = {
  RATE_LIMIT_PER_SECOND: '0',
  SUBSCRIPTION_EVENTS_PER_SECOND: '0',
  MAX_WEBSOCKETS_PER_CLIENT: '100000',
  MAX_SUBSCRIPTIONS_PER_SOCKET: '100000',
  MAX_UPSTREAM_SUBSCRIPTIONS_PER_CLIENT: '100000',
};

const edgeBenchOptions = {
  requests: Math.floor(count('edge-requests', values['edge-requests'], 10, 1_000_000)),
  rounds: Math.floor(count('edge-rounds', values['edge-rounds'], 1, 1_000)),
  concurrency: Math.floor(count('edge-concurrency', values['edge-concurrency'], 1, 256)),
};
const federationOptions = {
  seconds: count('federation-seconds', values['federation-seconds'], 0.5, 600),
  rounds: Math.floor(count('federation-rounds', values['federation-rounds'], 1, 100)),
  connections: Math.floor(count('federation-connections', values['federation-connections'], 1, 1_000)),
  warmup: count('federation-warmup', values['federation-warmup'], 0, 300),
};
const federationSubscriptionsOptions = {
  subscribers: Math.floor(count('federation-subscribers', values['federation-subscribers'], 1, 20_000)),
  rate: count('federation-sub-rate', values['federation-sub-rate'], 0.1, 1_000),
  // The subgraphs publish one run of events per request, in at most 280 s.
  seconds: count('federation-sub-seconds', values['federation-sub-seconds'], 0.5, 240),
  warmup: Math.min(federationOptions.warmup, 60),
};
const federationMemoryOptions = {
  operations: Math.floor(count('federation-memory-operations', values['federation-memory-operations'], 1, 1_000_000)),
  concurrency: Math.floor(count('federation-memory-concurrency', values['federation-memory-concurrency'], 1, 256)),
  query: values['federation-memory-query'] as MemoryQuery,
  warmup: federationOptions.warmup,
};
if (!['full', 'small'].includes(federationMemoryOptions.query)) throw new Error('--federation-memory-query must be full or small');
/** With --profile DIR: the gateway and the orders subgraph are CPU-profiled over each measured window. */
const profileDir = values.profile && resolve(values.profile);
const PROFILED: ProcessName[] = ['gateway', 'orders-subgraph'];
const profileEnv = (name: ProcessName) => ({
  NODE_OPTIONS:
    `${process.env['NODE_OPTIONS'] ?? ''} --import ${pathToFileURL(join(import.meta.dirname, 'cpu-profile-hook.mjs')).href}`.trim(),
  BENCH_PROFILE_DIR: profileDir!,
  BENCH_PROFILE_NAME: name,
});
if (!['name', 'types', 'customer'].includes(options.distinctBy)) throw new Error('--distinct-by must be name, types or customer');

/** Processes whose CPU and memory are sampled, in the order they are shown. */
const SAMPLED: ProcessName[] = [
  'gateway',
  'orders-subgraph',
  'customers-subgraph',
  'catalog-subgraph',
  'customers-service',
  'catalog-service',
  'fulfillment-service',
];
/** Child log lines at warn or above are shown, up to this many. */
const MAX_CHILD_LINES = 30;

// Whatever happens, the bench ends: a hard limit well beyond what the runs need.
const hardLimitMs =
  (scenarios.has('subscriptions') ? (3 * (options.warmup + options.seconds) + 180) * 1000 : 0) +
  (scenarios.has('replay') ? 20 * 60_000 : 0) +
  (scenarios.has('edge') ? 10 * 60_000 : 0) +
  (scenarios.has('federation')
    ? (2 * 2 * (federationOptions.warmup + federationOptions.rounds * (federationOptions.seconds + 15)) + 120) * 1000
    : 0) +
  (scenarios.has('federation-subscriptions')
    ? (2 * (federationSubscriptionsOptions.warmup + federationSubscriptionsOptions.seconds + 2 * 60 + 30) + 120) * 1000
    : 0) +
  // The operations of each gateway stop after 30 min (federation/memory.ts).
  (scenarios.has('federation-memory') ? (2 * (federationMemoryOptions.warmup + 30 * 60 + 30) + 120) * 1000 : 0);
setTimeout(() => {
  log(`hard time limit of ${hardLimitMs / 1000} s reached; exiting`);
  void cleanup().finally(() => process.exit(2));
}, hardLimitMs).unref();

let kafka: KafkaSystem | undefined;
let producer: PacedProducer | undefined;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await producer?.disconnect().catch(() => {});
    await kafka?.stop().catch(() => {});
    await cleanupReplayBench();
    await cleanupEdgeBench();
    await cleanupFederationBench();
  })();
  return cleaning;
}
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

if (scenarios.has('subscriptions')) await subscriptionsBench();
if (scenarios.has('edge')) await edgeBench(edgeBenchOptions);
if (scenarios.has('federation')) await federationBench(federationOptions);
if (scenarios.has('federation-subscriptions')) await federationSubscriptionsBench(federationSubscriptionsOptions);
if (scenarios.has('federation-memory')) await federationMemoryBench(federationMemoryOptions);
if (scenarios.has('replay')) {
  try {
    await replayBench(replayOptions);
  } catch (err) {
    log(`replay failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  }
}

async function subscriptionsBench(): Promise<void> {
  try {
    const started = Date.now();
    if (profileDir) await mkdir(profileDir, { recursive: true });
    let childLines = 0;
    kafka = await startKafkaSystem({
      brokers: 1,
      // The bench publishes each order's whole life cycle itself.
      payDelayMs: 600_000,
      shipDelayMs: 600_000,
      env: {
        ...(profileDir && { 'orders-subgraph': profileEnv('orders-subgraph') }),
        gateway: { ...UNLIMITED_CLIENT, ...(profileDir && profileEnv('gateway')) },
      },
      onLine: (name, line) => {
        if (!/"level":([4-9]\d)/.test(line)) return;
        if (++childLines <= MAX_CHILD_LINES)
          log(`${name}: ${line.slice(0, 400)}${childLines === MAX_CHILD_LINES ? ' (further warnings are only counted)' : ''}`);
      },
    });
    const { cluster, system, ordersUrl, ordersOpsUrl } = kafka;
    await waitReady(`${system.gatewayUrl}/readyz`);
    log(`system up in ${((Date.now() - started) / 1000).toFixed(1)} s; gateway ${system.gatewayUrl}`);

    producer = await PacedProducer.connect(cluster.brokers, new OrderEventSource(42, `bench-${Date.now().toString(36)}`));
    const processes: ProcessTarget[] = [
      ...SAMPLED.flatMap((name) => {
        const pid = system.processes.get(name)?.process.pid;
        return pid ? [{ name, pid }] : [];
      }),
      { name: 'kafka mock broker', pid: cluster.pid },
      { name: 'bench (clients, producer)', pid: process.pid },
    ];
    const ctx: BenchContext = {
      gatewayUrl: system.gatewayUrl,
      gatewayAuth: kafka.auth,
      gatewayOpsUrl: system.opsUrl('gateway'),
      ordersUrl,
      identitySecret: system.identitySecret,
      ordersOpsUrl,
      producer,
      processes,
      customers: new Map(),
      ...(profileDir && {
        profile: { dir: profileDir, targets: processes.filter((p) => PROFILED.includes(p.name as ProcessName)), windows: 0 },
      }),
    };
    const common = { sockets: options.sockets, seconds: options.seconds, warmupSeconds: options.warmup };

    const results: ScenarioResult[] = [];
    if (options.subscribers > 0) {
      results.push(
        await runScenario(ctx, {
          ...common,
          rate: options.rate,
          label: `(a) ${options.subscribers} identical`,
          specs: identicalSpecs(options.subscribers),
        }),
      );
    }
    if (options.distinct > 0) {
      const specs = distinctSpecs(options.distinct, options.distinctBy);
      results.push(
        await runScenario(ctx, {
          ...common,
          rate: options.distinctRate,
          label: `(b) ${options.distinct} distinct by ${options.distinctBy}`,
          specs,
        }),
      );
    }
    if (options.distinct > 0 && options.reloadEvery > 0) {
      // The same distinct subscriptions while the supergraph is reloaded again and again: each reload
      // plans every open subscription anew (a changed comment gives the file a new hash).
      const file = join(system.dataDir, 'gateway', 'supergraph.graphql');
      const served = await readFile(file, 'utf8');
      let reloads = 0;
      results.push(
        await runScenario(ctx, {
          ...common,
          rate: options.distinctRate,
          label: `(c) as (b), reloaded every ${options.reloadEvery} s`,
          specs: distinctSpecs(options.distinct, options.distinctBy),
          reload: {
            everyMs: options.reloadEvery * 1000,
            run: async () => {
              await writeFile(file, `${served}\n# bench reload ${++reloads}\n`);
              const answer = (await (await fetch(`${ctx.gatewayOpsUrl}/reload`, { method: 'POST' })).json()) as { status: string };
              if (answer.status === 'refused') log(`reload refused: ${JSON.stringify(answer)}`);
            },
          },
        }),
      );
    }
    report(results);
    if (childLines > 0) log(`the processes logged ${childLines} warnings or errors`);
    log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await fetch(url).catch(() => undefined))?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer 200 within 60 s`);
}

function report(results: ScenarioResult[]): void {
  const out: string[] = [];
  out.push(
    '',
    `Subscriptions: ${options.seconds} s measured after ${options.warmup} s warm-up; latency = client receipt - occurredAt (set at produce);`,
    'subgraph latency: the same for one probe subscribed straight to the orders subgraph (Kafka -> projection -> graphql-ws, no gateway)',
    '',
  );
  out.push(
    table([
      [
        'scenario',
        'subscribers',
        'upstream subs',
        'sockets',
        'produced ev/s',
        'delivered/s',
        'expected',
        'delivered',
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors',
        'subgraph p50/p99/max ms',
      ],
      ...results.map((r) => [
        r.label,
        r.subscribers,
        r.distinct,
        r.sockets,
        round(r.producedPerSecond),
        round(r.deliveredPerSecond),
        r.expectedDeliveries,
        r.delivered,
        r.latencyMs.p50,
        r.latencyMs.p99,
        r.latencyMs.max,
        Object.entries(r.errors)
          .map(([k, v]) => `${k} x${v}`)
          .join(', ') || 'none',
        `${r.subgraphLatencyMs.p50}/${r.subgraphLatencyMs.p99}/${r.subgraphLatencyMs.max}`,
      ]),
    ]),
  );
  for (const r of results) {
    const gateway = r.processes.find((p) => p.name === 'gateway');
    out.push('', `${r.label}: processes over the ${round(r.windowSeconds)} s window`, '');
    out.push(
      table([
        ['process', 'pid', 'cpu s (user+sys)', '% of one core', 'RSS MB', 'peak RSS MB'],
        ...r.processes.map((p) => [p.name, p.pid, round(p.cpuSeconds, 2), round(p.cpuPercent), round(p.rssMb), round(p.peakRssMb)]),
      ]),
    );
    out.push(
      `machine: ${r.machine.cpus} CPUs, ${round(r.machine.busyCores, 2)} cores busy on average; other processes (not this bench's) took ${round(r.machine.otherCpuSeconds, 2)} CPU s`,
    );
    out.push(`latency p50 by second of the window (ms): ${r.latencyTrendMs.join(' ')}`);
    if (r.reloadsMs.length > 0) {
      out.push(
        `supergraph reloads in the window: ${r.reloadsMs.length}, each taking ${r.reloadsMs.join(' ')} ms (every open subscription planned again); compare p50/p99 with (b)`,
      );
    }
    // Every distinct subscription has subscribers/distinct clients, each of which gets what it resolves.
    const resolutions = Math.round((r.expectedDeliveries * r.distinct) / r.subscribers);
    if (gateway && r.delivered > 0) {
      out.push(
        `gateway CPU: ${round((gateway.cpuSeconds * 1e6) / r.delivered)} µs per delivery, ${round((gateway.cpuSeconds * 1e6) / resolutions)} µs per resolution` +
          ` (${resolutions} resolutions: one per event and distinct subscription), ${round((gateway.cpuSeconds * 1e6) / r.produced)} µs per produced event`,
      );
    }
    for (const { name, file, summary } of r.profiles) {
      const busy = summary.totalMs - summary.idleMs;
      out.push(
        '',
        `${name} CPU profile over the window (${round(busy)} ms busy of ${round(summary.totalMs)} ms; profiler overhead included): ${file}`,
      );
      out.push(`  by package: ${summary.byPackage.map((p) => `${p.name} ${round(p.percent)}%`).join(', ')}`);
      for (const f of summary.byFunction) out.push(`  ${String(round(f.percent)).padStart(5)}%  ${f.name}`);
    }
  }
  process.stdout.write(out.join('\n') + '\n\n');
  const pick = (r: ScenarioResult, name: string) => {
    const p = r.processes.find((u) => u.name === name);
    return (
      p && { cpuSeconds: round(p.cpuSeconds, 2), cpuPercent: round(p.cpuPercent), rssMb: round(p.rssMb), peakRssMb: round(p.peakRssMb) }
    );
  };
  const summary = {
    bench: 'subscriptions',
    options,
    scenarios: results.map((r) => ({
      label: r.label,
      subscribers: r.subscribers,
      upstreamSubscriptions: r.distinct,
      sockets: r.sockets,
      produced: r.produced,
      producedPerSecond: round(r.producedPerSecond),
      expectedDeliveries: r.expectedDeliveries,
      delivered: r.delivered,
      deliveredPerSecond: round(r.deliveredPerSecond),
      latencyMs: { p50: r.latencyMs.p50, p99: r.latencyMs.p99, max: r.latencyMs.max, mean: round(r.latencyMs.mean) },
      latencyP50BySecondMs: r.latencyTrendMs,
      ...(r.reloadsMs.length > 0 && { reloadsMs: r.reloadsMs }),
      subgraphLatencyMs: { p50: r.subgraphLatencyMs.p50, p99: r.subgraphLatencyMs.p99, max: r.subgraphLatencyMs.max },
      errors: r.errors,
      windowSeconds: round(r.windowSeconds, 2),
      gateway: pick(r, 'gateway'),
      ordersSubgraph: pick(r, 'orders-subgraph'),
      machine: { cpus: r.machine.cpus, busyCores: round(r.machine.busyCores, 2), otherCpuSeconds: round(r.machine.otherCpuSeconds, 2) },
      processes: Object.fromEntries(r.processes.map((p) => [p.name, { cpuPercent: round(p.cpuPercent), rssMb: round(p.rssMb) }])),
    })),
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}
