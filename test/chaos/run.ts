/**
 * One chaos run, start to end: the system on a 3-broker mock cluster, subscribers first, then the
 * external producer and the commands while the fault schedule plays, a drain with no faults, the
 * topic read back through the reference model, and the summary. Everything it starts is
 * registered in `cleanups` as soon as it exists, so whoever owns them (cli.ts) can stop it all on
 * any ending, a deadline or Ctrl-C included.
 */
import { randomBytes } from 'node:crypto';
import { generateProducts } from '../../services/catalog/data.ts';
import { caughtUp, startKafkaSystem, startProducer, type Cleanups } from '../kafka/orders-support.ts';
import { orderStream } from '../kafka/order-stream.ts';
import { CommandRunner } from './commands.ts';
import type { EventType } from './contract.ts';
import { diffCommands, diffDeliveries } from './expect.ts';
import { hostileRecords, runSchedule, schedule, type FaultContext } from './faults.ts';
import { chaosLog } from './log.ts';
import { applyTopic } from './model.ts';
import { summarize, type SubscriberResult, type Summary } from './report.ts';
import { ChaosSubscriber, type SubscriberClass, type SubscriberSpec } from './subscribers.ts';

export interface ChaosOptions {
  /** Order events the external producer publishes (about; whole orders). */
  events: number;
  /** Length of the fault phase, in s; the producer spreads its events over 90 % of it. */
  seconds: number;
  seed: number;
  subscribers: number;
  /** placeOrder commands started per second. */
  commandRate: number;
  /** Subscribers also select `customer { name }`: one entity fetch per event and subscription. */
  resolveCustomer: boolean;
  /** Longest drain (no faults, waiting for deliveries to settle), in s. */
  drainSeconds: number;
  /** Progress lines. */
  progress(line: string): void;
  /** Stops the run between phases (a deadline or Ctrl-C); cleanups still stop what it started. */
  signal: AbortSignal;
}

const TOPIC = 'orders.events';
const BROKERS = 3;
/** Average events per order of order-stream.ts (placed, then paid and shipped, or cancelled ...). */
const EVENTS_PER_ORDER = 2.6;
const QUIET_MS = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TYPE_FILTERS: readonly EventType[][] = [
  ['OrderPaid', 'OrderShipped'],
  ['OrderCancelled'],
  ['OrderPlaced'],
  ['OrderShipped', 'OrderCancelled'],
];

/** Waits until `check` holds, `ms` passed or the run is stopped; says whether it holds. */
async function until(check: () => boolean | Promise<boolean>, ms: number, signal: AbortSignal, everyMs = 250): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    signal.throwIfAborted();
    if (await Promise.resolve(check()).catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** The subscribers: a third plain, a third by customer, a third by event types. */
export function subscriberSpecs(count: number, customers: readonly string[], resolveCustomer = false): SubscriberSpec[] {
  const classes: SubscriberClass[] = ['plain', 'customer', 'types'];
  return Array.from({ length: count }, (_, i) => {
    const klass = classes[i % 3]!;
    const n = Math.floor(i / 3);
    const filter =
      klass === 'customer'
        ? { customerId: customers[n % customers.length]! }
        : klass === 'types'
          ? { types: TYPE_FILTERS[n % TYPE_FILTERS.length]! }
          : {};
    return {
      name: `${klass}-${n + 1}`,
      class: klass,
      filter,
      afterAs: n % 2 === 0 ? 'literal' : 'variable',
      status: klass !== 'plain',
      resolveCustomer,
    };
  });
}

function countBy(codes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const code of codes) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

/** The customers with the most orders in the producer's stream (they make busy filters). */
function busiestCustomers(stream: ReturnType<typeof orderStream>, count: number): string[] {
  const orders = new Map<string, number>();
  for (const e of stream) if (e.type === 'OrderPlaced') orders.set(e.data.customerId, (orders.get(e.data.customerId) ?? 0) + 1);
  return [...orders]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .slice(0, count)
    .map(([c]) => c);
}

/** Whether the orders projection has read the whole topic; true when /readyz has no projection section this run knows. */
async function projectionCaughtUp(ordersOpsUrl: string): Promise<boolean> {
  const body = (await (await fetch(`${ordersOpsUrl}/readyz`)).json()) as { projection?: { partitions?: unknown } };
  if (!Array.isArray(body.projection?.partitions)) return true; // rely on the quiet period alone
  return caughtUp(ordersOpsUrl);
}

export async function runChaos(options: ChaosOptions, cleanups: Cleanups): Promise<Summary> {
  const { signal, progress } = options;
  const timings: Record<string, number> = {};
  let mark = Date.now();
  const phase = (name: string) => {
    timings[name] = Date.now() - mark;
    mark = Date.now();
  };
  const runId = `chaos${options.seed}x${randomBytes(3).toString('hex')}`;
  const orders = Math.max(1, Math.round(options.events / EVENTS_PER_ORDER));
  const malformed = Math.max(3, Math.round(options.events / 200));
  const stream = orderStream(orders, options.seed, runId);
  const customers = busiestCustomers(stream, Math.max(1, Math.ceil(options.subscribers / 3)));

  progress('starting the mock cluster (3 brokers) and the system');
  const kafka = await startKafkaSystem(
    { brokers: BROKERS, payDelayMs: 1_500, shipDelayMs: 1_500, env: { gateway: { LOG_LEVEL: 'error' } } },
    cleanups,
  );
  const { system, cluster, ordersOpsUrl, auth: operator } = kafka;
  const wsUrl = `${system.gatewayUrl.replace(/^http/, 'ws')}/graphql`;
  const log = chaosLog(cluster.brokers, TOPIC, runId);
  cleanups.after(() => log.close());
  phase('start');
  signal.throwIfAborted();

  progress(`subscribing ${options.subscribers} clients`);
  const subscribers = subscriberSpecs(options.subscribers, customers, options.resolveCustomer).map(
    (spec) => new ChaosSubscriber(spec, { url: wsUrl, connectionParams: operator, endOffsets: log.endOffsets }),
  );
  cleanups.after(() => Promise.all(subscribers.map((s) => s.stop())));
  for (const s of subscribers) s.start();
  if (!(await until(() => subscribers.every((s) => s.subscribed), 60_000, signal)))
    throw new Error('the subscribers could not subscribe within 60 s');
  // Subscribed means sent; give the gateway a moment to open its upstream streams before anything is produced.
  await until(
    async () => {
      const body = (await (await fetch(`${system.opsUrl('gateway')}/readyz`)).json()) as { subscriptions?: { subscribers?: number } };
      return (body.subscriptions?.subscribers ?? options.subscribers) >= options.subscribers;
    },
    20_000,
    signal,
  );
  await sleep(2_000);
  const before = await log.endOffsets();
  if (before.some((end) => end > 0)) throw new Error(`the topic was not empty before producing: ${before.join(',')}`);
  phase('subscribe');

  const products = generateProducts()
    .filter((p) => p.stock >= 50)
    .map((p) => p.id);
  const commands = new CommandRunner({
    url: `${system.gatewayUrl}/graphql`,
    headers: operator,
    rate: options.commandRate,
    runId,
    customers,
    products,
  });
  cleanups.after(() => commands.stop(0));
  const idempotency = await commands.detect();
  progress(`placeOrder idempotency keys: ${idempotency}`);

  const phaseMs = options.seconds * 1000;
  const rate = Math.max(1, Math.ceil((stream.length + malformed) / (0.9 * options.seconds)));
  progress(
    `producing ${stream.length} events of ${orders} orders (+${malformed} malformed) at ${rate}/s; placeOrder at ${options.commandRate}/s; faults over ${options.seconds} s`,
  );
  const producer = startProducer(cluster.bootstrap, { orders, seed: options.seed, prefix: runId, rate, malformed });
  cleanups.after(() => producer.stop());
  let producerRecords: number | null = null;
  let producerError: string | undefined;
  const producing = producer.done.then(
    (n) => (producerRecords = n),
    (err: unknown) => (producerError = String(err).split('\n').slice(0, 3).join(' ')),
  );
  commands.start();

  const ctx: FaultContext = {
    system,
    cluster,
    log,
    topic: TOPIC,
    brokers: BROKERS,
    subscribers,
    published: () => stream.slice(0, 3).map((e) => ({ key: e.orderId, value: JSON.stringify(e) })),
  };
  const began = Date.now();
  const faults = await runSchedule(schedule, ctx, phaseMs, {
    stepTimeoutMs: 60_000,
    signal,
    onFault: (f) => progress(`fault ${f.ok ? 'ok' : 'FAILED'}: ${f.name}: ${f.detail}`),
  });
  await sleep(Math.max(0, began + phaseMs - Date.now()));
  signal.throwIfAborted();
  phase('faults');

  progress('draining: no more faults; waiting for the producer, the commands and the deliveries to settle');
  await Promise.race([producing, sleep(60_000)]);
  const notes: string[] = [];
  if (producerError) notes.push(`the producer failed: ${producerError}`);
  else if (producerRecords === null) notes.push('the producer had not finished 60 s after the fault phase');
  await commands.stop(20_000);
  if (!(await until(() => projectionCaughtUp(ordersOpsUrl), options.drainSeconds * 1000, signal, 500)))
    notes.push(`the orders projection had not caught up with the topic after ${options.drainSeconds} s`);
  let last = '';
  let quietSince = Date.now();
  const settled = await until(
    async () => {
      const now = `${(await log.endOffsets()).join(',')}/${subscribers.map((s) => `${s.deliveries.length}:${s.subscribed}`).join(',')}`;
      if (now !== last) [last, quietSince] = [now, Date.now()];
      return Date.now() - quietSince >= QUIET_MS && subscribers.every((s) => s.subscribed);
    },
    options.drainSeconds * 1000,
    signal,
    500,
  );
  if (!settled) {
    const busy = subscribers.filter((s) => Date.now() - s.lastEventAt < QUIET_MS).length;
    notes.push(
      `the deliveries had not settled (${QUIET_MS / 1000} s without one) after ${options.drainSeconds} s: ` +
        `${busy} subscribers were still receiving events, ${subscribers.filter((s) => !s.subscribed).length} were not subscribed`,
    );
  }
  await Promise.all(subscribers.map((s) => s.stop()));
  phase('drain');

  progress('reading the topic back');
  const records = await log.readAll(60_000);
  const model = applyTopic(records);
  phase('truth');

  const results: SubscriberResult[] = subscribers.map((s) => {
    return {
      name: s.spec.name,
      class: s.spec.class,
      filter: s.spec.filter.customerId
        ? `customer ${s.spec.filter.customerId}`
        : s.spec.filter.types
          ? `types ${s.spec.filter.types.join('|')}`
          : 'all',
      afterAs: s.spec.afterAs,
      status: s.spec.status,
      ...diffDeliveries(model.applied, { filter: s.spec.filter, deliveries: s.deliveries, excuseBelow: s.excuseBelow }),
      signals: countBy(s.signals),
      erroredResults: countBy(s.erroredResults),
      statuses: s.statuses,
      subscriptions: s.subscriptions,
      liveRestarts: s.liveRestarts,
    };
  });
  return summarize({
    settings: {
      events: options.events,
      seconds: options.seconds,
      seed: options.seed,
      subscribers: options.subscribers,
      commandRate: options.commandRate,
      resolveCustomer: options.resolveCustomer,
    },
    idempotency,
    log: {
      ...model.counts,
      producerRecords,
      hostileRecords: faults.filter((f) => f.ok && f.name.startsWith('publish')).length * hostileRecords('x', ctx.published()).length,
    },
    // The external producer's orders (ids `<runId>-<seed>-<n>`) can have a command's customer and lines by chance: not the commands'.
    commands: {
      ...diffCommands(
        model.placed.filter((p) => !p.orderId.startsWith(`${runId}-`)),
        commands.outcomes,
      ),
      errors: Object.fromEntries(commands.errors),
    },
    faults,
    subscribers: results,
    timings,
    notes,
  });
}
