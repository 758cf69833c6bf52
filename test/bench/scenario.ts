/**
 * One subscription scenario: open the subscribers, wait until the gateway and the orders subgraph
 * both count them, warm up, then produce at a steady rate for the measured window and wait for the
 * deliveries to drain, sampling the processes' CPU and memory over exactly that window.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderEvent } from '../../services/events/orders.ts';
import { identityConnectionParams } from '../support/identity.ts';
import { readCounter } from '../support/metrics.ts';
import { ProcessSampler, type MachineUsage, type ProcessTarget, type ProcessUsage } from './process-sampler.ts';
import type { PacedProducer } from './producer.ts';
import { summarizeProfile, type ProfileSummary } from './profile.ts';
import { distribution, type Distribution } from './stats.ts';
import { SubscriberPool, matches, probeSpec, type SubscriptionSpec } from './subscribers.ts';

export interface BenchContext {
  gatewayUrl: string;
  /** The subscribers' connection_init payload: an operator's token (every scope), as orderEvents needs a token. */
  gatewayAuth: Record<string, string>;
  /** The gateway's and the orders subgraph's ops listeners (/metrics, detailed /readyz). */
  gatewayOpsUrl: string;
  ordersUrl: string;
  /** The system's IDENTITY_SECRET: the probe subscribes to the orders subgraph directly. */
  identitySecret: string;
  ordersOpsUrl: string;
  producer: PacedProducer;
  processes: ProcessTarget[];
  /** The customer of every order produced so far (for the expected deliveries of filtered subscriptions). */
  customers: Map<string, string>;
  /** Processes preloaded with cpu-profile-hook.mjs: profiled over each measured window. */
  profile?: { dir: string; targets: ProcessTarget[]; windows: number };
}

export interface ScenarioOptions {
  label: string;
  specs: SubscriptionSpec[];
  sockets: number;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  /** Reloads the gateway's supergraph this often during the measured window (the reload's effect on delivery). */
  reload?: { everyMs: number; run: () => Promise<void> } | undefined;
}

export interface ScenarioResult {
  label: string;
  subscribers: number;
  /** Distinct subscriptions at the gateway = upstream subscriptions to the orders subgraph. */
  distinct: number;
  sockets: number;
  produced: number;
  producedPerSecond: number;
  expectedDeliveries: number;
  delivered: number;
  deliveredPerSecond: number;
  windowSeconds: number;
  latencyMs: Distribution;
  /** Of the probe subscribed straight to the orders subgraph (no gateway, no entity fetches). */
  subgraphLatencyMs: Distribution;
  /** p50 latency (ms) of the events produced in each second of the window: growing means a backlog. */
  latencyTrendMs: number[];
  errors: Record<string, number>;
  /** How long each reload during the window took, in ms (POST /reload until it answered). */
  reloadsMs: number[];
  processes: ProcessUsage[];
  machine: MachineUsage;
  profiles: { name: string; file: string; summary: ProfileSummary }[];
}

/** After producing: give up waiting for missing deliveries once none came for this long. */
const DRAIN_IDLE_MS = 3_000;
const DRAIN_MAX_MS = 20_000;

export async function runScenario(ctx: BenchContext, options: ScenarioOptions): Promise<ScenarioResult> {
  const { specs, rate } = options;
  const distinct = new Set(specs.map((s) => JSON.stringify(s))).size;
  const pool = await SubscriberPool.open(ctx.gatewayUrl.replace(/^http/, 'ws') + '/graphql', options.sockets, specs, () => ctx.gatewayAuth);
  // One subscription straight to the orders subgraph: the latency of the path up to the gateway.
  const probe = await SubscriberPool.open(
    ctx.ordersUrl.replace(/^http/, 'ws') + '/graphql',
    1,
    [probeSpec],
    identityConnectionParams(ctx.identitySecret),
  );
  try {
    await until(
      async () =>
        (await gatewaySubscribers(ctx.gatewayOpsUrl)) >= specs.length && (await upstreamSubscriptions(ctx.ordersOpsUrl)) >= distinct + 1,
      30_000,
      `${specs.length} subscribers at the gateway and ${distinct} at the orders subgraph`,
    );
    log(`${options.label}: ${specs.length} subscribed (${distinct} distinct upstream); warming up ${options.warmupSeconds} s`);
    // The window starts once the warm-up's events are all delivered (or stopped coming).
    const before = pool.totalDeliveries;
    const warmup = await produce(ctx, specs, rate, options.warmupSeconds);
    await drained(
      () => pool.totalDeliveries - before,
      () => pool.totalDeliveries - before >= warmup.expected,
      DRAIN_IDLE_MS,
    );

    log(`${options.label}: measuring ${options.seconds} s at ${rate} events/s`);
    const sampler = new ProcessSampler(ctx.processes);
    await sampler.start();
    signalProfiled(ctx);
    const from = Date.now();
    pool.startWindow(from);
    probe.startWindow(from);
    const reloading = reloadWhile(options.reload);
    const { produced, seconds, expected } = await produce(ctx, specs, rate, options.seconds);
    const reloadsMs = await reloading.stop();
    pool.endWindow(Date.now());
    probe.endWindow(Date.now());
    await drained(
      () => pool.windowDeliveries,
      () => pool.windowDeliveries >= expected,
      DRAIN_IDLE_MS,
    );
    const { windowSeconds, usage, machine } = await sampler.stop();
    const profiles = await collectProfiles(ctx);

    return {
      label: options.label,
      subscribers: specs.length,
      distinct,
      sockets: Math.min(options.sockets, specs.length),
      produced,
      producedPerSecond: produced / seconds,
      expectedDeliveries: expected,
      delivered: pool.windowDeliveries,
      // Over the time from the first event produced to the last one delivered.
      deliveredPerSecond: pool.windowDeliveries / (Math.max(1, pool.lastDeliveryAt - from) / 1000),
      windowSeconds,
      latencyMs: distribution(pool.latencies),
      subgraphLatencyMs: distribution(probe.latencies),
      latencyTrendMs: perSecondP50(pool.occurred, pool.latencies),
      errors: Object.fromEntries(pool.errors),
      reloadsMs,
      processes: usage,
      machine,
      profiles,
    };
  } finally {
    await Promise.all([pool.close(), probe.close()]);
    // The next scenario starts from nothing: the gateway released every upstream subscription.
    await until(
      async () => (await gatewaySubscribers(ctx.gatewayOpsUrl)) === 0 && (await upstreamSubscriptions(ctx.ordersOpsUrl)) === 0,
      15_000,
      'subscriptions to close',
    ).catch((err: unknown) => log(String(err)));
  }
}

/** Runs `reload.run` every `reload.everyMs` until stopped; `stop` resolves with how long each took. */
function reloadWhile(reload: ScenarioOptions['reload']): { stop: () => Promise<number[]> } {
  if (!reload) return { stop: () => Promise.resolve([]) };
  const took: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await sleep(reload.everyMs);
      if (stopped) break;
      const started = performance.now();
      await reload.run();
      took.push(Math.round(performance.now() - started));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return took;
    },
  };
}

const signalProfiled = (ctx: BenchContext) => ctx.profile?.targets.forEach((t) => process.kill(t.pid, 'SIGUSR2'));

/** Stops the profilers and reads what they wrote (each writes <name>-<pid>-<window>.cpuprofile). */
async function collectProfiles(ctx: BenchContext): Promise<ScenarioResult['profiles']> {
  if (!ctx.profile) return [];
  signalProfiled(ctx);
  const window = ++ctx.profile.windows;
  const profiles: ScenarioResult['profiles'] = [];
  for (const { name, pid } of ctx.profile.targets) {
    const file = join(ctx.profile.dir, `${name}-${pid}-${window}.cpuprofile`);
    const written = await until(async () => (await stat(file).catch(() => undefined))?.isFile() ?? false, 10_000, file).then(
      () => true,
      () => false,
    );
    if (written) profiles.push({ name, file, summary: await summarizeProfile(file) });
    else log(`no CPU profile from ${name} at ${file}`);
  }
  return profiles;
}

function perSecondP50(occurred: number[], latencies: number[]): number[] {
  const buckets: number[][] = [];
  occurred.forEach((at, i) => (buckets[Math.floor(at / 1000)] ??= []).push(latencies[i]!));
  return Array.from(buckets, (b) => (b ? distribution(b).p50 : Number.NaN));
}

/** Produces at `rate` for `seconds`; `expected`: the deliveries these events should make to `specs`. */
async function produce(ctx: BenchContext, specs: SubscriptionSpec[], rate: number, seconds: number) {
  let expected = 0;
  const run = await ctx.producer.run({
    rate,
    seconds,
    onEvent: (event: OrderEvent) => {
      if (event.type === 'OrderPlaced') ctx.customers.set(event.orderId, event.data.customerId);
      for (const spec of specs) if (matches(spec, event.type, ctx.customers.get(event.orderId))) expected++;
    },
  });
  return { ...run, expected };
}

async function gatewaySubscribers(opsUrl: string): Promise<number> {
  const body = (await (await fetch(`${opsUrl}/readyz`)).json()) as { subscriptions?: { subscribers?: number } };
  return body.subscriptions?.subscribers ?? 0;
}

const upstreamSubscriptions = (ordersOpsUrl: string) => readCounter(`${ordersOpsUrl}/metrics`, 'orders_subscriptions_active', {});

/** Waits until `done()`, or until the count stops moving for `idleMs`, or DRAIN_MAX_MS. */
async function drained(count: () => number, done: () => boolean, idleMs: number): Promise<void> {
  const started = Date.now();
  let last = count();
  let movedAt = Date.now();
  while (!done() && Date.now() - movedAt < idleMs && Date.now() - started < DRAIN_MAX_MS) {
    await sleep(10);
    if (count() !== last) {
      last = count();
      movedAt = Date.now();
    }
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
