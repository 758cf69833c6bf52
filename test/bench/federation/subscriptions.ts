/**
 * `npm run bench -- --scenario federation-subscriptions`: distinct subscriptions through
 * Interchange on the federation benchmark's subgraphs, next to the raw `ws` ceiling.
 *
 *   - the subgraphs (subgraphs-server.ts) publish the reviews subgraph's `reviewAdded` events at
 *     --federation-sub-rate events/s, each stamped with the time it was published (`createdAt`)
 *   - --federation-subscribers clients, each on a graphql-ws socket of its own to Interchange, each
 *     subscribed with a document of its own (operation `ReviewAdded<i>`), so that none can share an
 *     upstream subscription: every event is resolved once per subscriber, with an entity fetch to
 *     the products subgraph for the product's name and price
 *   - the raw `ws` ceiling (raw-ws-main.ts): a bare `ws` server process sending as many clients, at
 *     the same rate, a JSON message of the size of the gateway's deliveries, serialized per client
 *
 * Each part is warmed up (--federation-warmup s of events, not counted), then measured over
 * --federation-sub-seconds s of events, until every delivery has arrived or DRAIN_MS have passed
 * since the last event. The process under test gets a core of its own (taskset), as in the
 * federation scenario. Printed: events published, deliveries expected and delivered, latency p50/p99
 * from publish to client, CPU of the process under test per event and subscription (per delivery)
 * and deliveries per CPU-second, its peak RSS, and the subgraphs' CPU; then one line of JSON.
 * Stock @apollo/gateway does not serve subscriptions: there is no baseline row. Asserts nothing.
 */
import { createClient, type Client } from 'graphql-ws';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { Child } from '../../../lib/supervisor.ts';
import { ProcessSampler, type ProcessUsage } from '../process-sampler.ts';
import { log } from '../scenario.ts';
import { distribution, round, table } from '../stats.ts';
import { pin, planCpus, type CpuPlan } from './pinning.ts';
import { cleanupFederationProcesses, pinRest, startFederationSetup, startInterchange } from './setup.ts';
import type { PublishResult } from './subgraphs-server.ts';

export interface FederationSubscriptionsOptions {
  /** Distinct subscriptions, one client (socket) each. */
  subscribers: number;
  /** Events published per second. */
  rate: number;
  /** Seconds of measured events. */
  seconds: number;
  /** Seconds of events before, not measured. */
  warmup: number;
}

/** What each subscriber selects: the review from the reviews subgraph, its product from the products subgraph. */
export const REVIEW_SELECTION = 'id body createdAt author { username } product { upc name price }';

/** The i-th subscriber's document: its own operation name, so no two can share an upstream subscription. */
export const reviewAddedDocument = (i: number): string => `subscription ReviewAdded${i} { reviewAdded { ${REVIEW_SELECTION} } }`;

/**
 * The subscriptions are one client's (this process), so the gateway's per-client rates and caps are
 * lifted; upstream subscriptions and sockets are capped per client too.
 */
const UNLIMITED_CLIENT = {
  SUBSCRIPTION_EVENTS_PER_SECOND: '0',
  MAX_WEBSOCKETS_PER_CLIENT: '100000',
  MAX_SUBSCRIPTIONS_PER_SOCKET: '100000',
  MAX_UPSTREAM_SUBSCRIPTIONS_PER_CLIENT: '100000',
};

/** Sockets opened at once while connecting the clients. */
const CONNECT_CONCURRENCY = 50;
/** How long connecting every client, and seeing every upstream subscription open, may take. */
const CONNECT_MS = 60_000;
/** How long after the last event its deliveries may still arrive. */
const DRAIN_MS = 10_000;

export interface DeliveryFigures {
  /** Events published (gateway) or rounds sent (raw ws) in the measured window. */
  events: number;
  clients: number;
  expected: number;
  delivered: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** The process under test over the window. */
  cpuSeconds: number;
  windowSeconds: number;
  peakRssMb: number;
  /** CPU of the process under test per delivery (one event to one subscription), in ms. */
  cpuMsPerDelivery: number;
  deliveriesPerCpuSecond: number;
  /** Errors in results and subscription errors, by code or message. */
  errors: Record<string, number>;
  others: { name: string; cpuSeconds: number; peakRssMb: number }[];
  /** CPU seconds of the machine's other processes (not this bench's) in the window: a busy machine slows the process under test. */
  otherCpuSeconds: number;
}

export interface FederationSubscriptionsReport {
  bench: 'federation-subscriptions';
  options: FederationSubscriptionsOptions;
  pinned: CpuPlan | null;
  /** Upstream subscriptions the reviews subgraph had open for the subscribers: one each when none is shared. */
  upstreamSubscriptions: number;
  /** A delivery as graphql-ws sends it (`next` message), in bytes: the raw ws messages' size. */
  messageBytes: number;
  gateway: DeliveryFigures;
  rawWs: DeliveryFigures;
}

/** Deliveries seen by the clients: those of events published from `from` (epoch ms) count. */
class Deliveries {
  latencies: number[] = [];
  delivered = 0;
  messageBytes = 0;
  errors = new Map<string, number>();
  private from = Number.POSITIVE_INFINITY;

  startWindow(from: number): void {
    this.from = from;
    this.latencies = [];
    this.delivered = 0;
    this.errors.clear();
  }

  record(createdAt: unknown, receivedAt: number): void {
    if (typeof createdAt !== 'number' || createdAt < this.from) return;
    this.delivered++;
    this.latencies.push(receivedAt - createdAt);
  }

  error(key: string): void {
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }
}

export async function federationSubscriptionsBench(
  options: FederationSubscriptionsOptions,
): Promise<FederationSubscriptionsReport | undefined> {
  const gatewayClients: Client[] = [];
  const rawClients: WebSocket[] = [];
  try {
    const started = Date.now();
    const setup = await startFederationSetup();
    const interchange = await startInterchange(setup, UNLIMITED_CLIENT);
    const raw = await setup.start('raw-ws', 'test/bench/federation/raw-ws-main.ts', {});
    log(`federation-subscriptions: subgraphs, gateway and raw ws server up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const cpus = await planCpus();
    if (cpus) await pinRest(cpus);
    else log('federation-subscriptions: not pinned (one core, or no taskset)');

    // Interchange.
    if (cpus) await pin(interchange.process.pid!, cpus.gateway);
    const gatewayDeliveries = new Deliveries();
    const url = `ws://127.0.0.1:${interchange.ports.http}/graphql`;
    await inBatches(options.subscribers, async (i) => {
      gatewayClients.push(await subscribe(url, i, gatewayDeliveries));
    });
    const upstream = await waitFor(
      async () => ((await getJson(`${setup.subgraphsUrl}/subscriptions`)) as { subscriptions: number }).subscriptions,
      (n) => n >= options.subscribers,
      CONNECT_MS,
    );
    if (upstream < options.subscribers)
      log(
        `federation-subscriptions: the reviews subgraph sees ${upstream} upstream subscriptions for ${options.subscribers} distinct ones`,
      );
    log(`federation-subscriptions: ${options.subscribers} subscribers on Interchange, ${upstream} upstream subscriptions`);
    const publish = (count: number) =>
      postJson<PublishResult>(`${setup.subgraphsUrl}/publish?rate=${options.rate}&count=${count}`).then((r) => r.published);
    const gateway = await measure({
      name: 'Interchange',
      underTest: interchange,
      others: [setup.subgraphs],
      clients: options.subscribers,
      deliveries: gatewayDeliveries,
      options,
      send: publish,
    });
    const messageBytes = gatewayDeliveries.messageBytes;
    for (const client of gatewayClients.splice(0)) await client.dispose();

    // The raw ws ceiling, with messages of the gateway's deliveries' size.
    if (cpus) {
      await pin(interchange.process.pid!, cpus.rest);
      await pin(raw.process.pid!, cpus.gateway);
    }
    const rawUrl = `http://127.0.0.1:${raw.ports.http}`;
    const rawDeliveries = new Deliveries();
    await inBatches(options.subscribers, async () => {
      rawClients.push(await connectRaw(`ws://127.0.0.1:${raw.ports.http}/`, rawDeliveries));
    });
    await waitFor(
      async () => ((await getJson(`${rawUrl}/clients`)) as { clients: number }).clients,
      (n) => n >= options.subscribers,
      CONNECT_MS,
    );
    const rawWs = await measure({
      name: 'raw ws',
      underTest: raw,
      others: [],
      clients: options.subscribers,
      deliveries: rawDeliveries,
      options,
      send: (count) =>
        postJson<{ sent: number }>(`${rawUrl}/send?rate=${options.rate}&count=${count}&bytes=${messageBytes}`).then((r) => r.sent),
    });

    const report: FederationSubscriptionsReport = {
      bench: 'federation-subscriptions',
      options,
      pinned: cpus ?? null,
      upstreamSubscriptions: upstream,
      messageBytes,
      gateway,
      rawWs,
    };
    printReport(report);
    if (setup.childLines() > 0) log(`federation-subscriptions: the processes logged ${setup.childLines()} warnings or errors`);
    log(`federation-subscriptions: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return report;
  } catch (err) {
    log(`federation-subscriptions failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
    return undefined;
  } finally {
    for (const client of gatewayClients.splice(0)) await Promise.resolve(client.dispose()).catch(() => {});
    for (const socket of rawClients.splice(0)) socket.terminate();
    await cleanupFederationProcesses();
  }
}

interface MeasureSpec {
  name: string;
  underTest: Child;
  /** Other processes whose CPU and RSS are shown. */
  others: Child[];
  clients: number;
  deliveries: Deliveries;
  options: FederationSubscriptionsOptions;
  /** Sends `count` events at the options' rate; resolves with how many were sent, once they all were. */
  send: (count: number) => Promise<number>;
}

/** Warm-up, then the measured window: events sent, deliveries awaited, CPU and RSS sampled. */
async function measure(spec: MeasureSpec): Promise<DeliveryFigures> {
  const { options, deliveries, clients } = spec;
  const warmupEvents = Math.round(options.rate * options.warmup);
  if (warmupEvents > 0) {
    log(`federation-subscriptions: ${spec.name}: ${warmupEvents} events of warm-up`);
    deliveries.startWindow(0);
    const sent = await spec.send(warmupEvents);
    await waitFor(
      async () => deliveries.delivered,
      (n) => n >= sent * clients,
      DRAIN_MS,
    );
  }
  const sampler = new ProcessSampler([
    { name: spec.name, pid: spec.underTest.process.pid! },
    ...spec.others.map((c) => ({ name: c.name, pid: c.process.pid! })),
    { name: 'bench (clients)', pid: process.pid },
  ]);
  const count = Math.max(1, Math.round(options.rate * options.seconds));
  log(`federation-subscriptions: ${spec.name}: ${count} events at ${options.rate}/s to ${clients} clients`);
  deliveries.startWindow(Date.now());
  await sampler.start();
  const events = await spec.send(count);
  const expected = events * clients;
  await waitFor(
    async () => deliveries.delivered,
    (n) => n >= expected,
    DRAIN_MS,
  );
  const { usage, windowSeconds, machine } = await sampler.stop();
  const used = usage[0]!;
  const latency = distribution(deliveries.latencies);
  const figures: DeliveryFigures = {
    events,
    clients,
    expected,
    delivered: deliveries.delivered,
    latencyMs: { p50: latency.p50, p99: latency.p99, max: latency.max },
    cpuSeconds: used.cpuSeconds,
    windowSeconds,
    peakRssMb: used.peakRssMb,
    cpuMsPerDelivery: (used.cpuSeconds * 1000) / expected,
    deliveriesPerCpuSecond: deliveries.delivered / used.cpuSeconds,
    errors: Object.fromEntries(deliveries.errors),
    others: usage.slice(1).map((u: ProcessUsage) => ({ name: u.name, cpuSeconds: u.cpuSeconds, peakRssMb: u.peakRssMb })),
    otherCpuSeconds: machine.otherCpuSeconds,
  };
  log(
    `federation-subscriptions: ${spec.name}: ${figures.delivered}/${expected} delivered, p50 ${latency.p50} ms, ` +
      `${round(figures.cpuMsPerDelivery, 3)} CPU ms per delivery`,
  );
  return figures;
}

/** Runs `task(0..count-1)`, CONNECT_CONCURRENCY at a time, all within CONNECT_MS. */
async function inBatches(count: number, task: (i: number) => Promise<void>): Promise<void> {
  const deadline = Date.now() + CONNECT_MS;
  for (let from = 0; from < count; from += CONNECT_CONCURRENCY) {
    if (Date.now() > deadline) throw new Error(`connecting ${count} clients took more than ${CONNECT_MS / 1000} s`);
    await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count - from) }, (_, k) => task(from + k)));
  }
}

interface ReviewResult {
  data?: { reviewAdded?: { createdAt?: unknown } | null } | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

/** One subscriber: a graphql-ws socket of its own, acknowledged, with its distinct subscription. */
async function subscribe(url: string, i: number, deliveries: Deliveries): Promise<Client> {
  const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => {} });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`graphql-ws: no connection_ack from ${url} within 10 s`)), 10_000);
    const off = client.on('connected', () => {
      clearTimeout(timer);
      off();
      resolve();
    });
  });
  client.subscribe<ReviewResult['data']>(
    { query: reviewAddedDocument(i), operationName: `ReviewAdded${i}` },
    {
      next: (result: ReviewResult) => {
        const receivedAt = Date.now();
        for (const error of result.errors ?? []) deliveries.error(String(error.extensions?.['code'] ?? error.message));
        // What graphql-ws sent: a `next` message with a UUID id around the result.
        if (deliveries.messageBytes === 0 && result.data?.reviewAdded)
          deliveries.messageBytes = Buffer.byteLength(JSON.stringify({ id: crypto.randomUUID(), type: 'next', payload: result }));
        deliveries.record(result.data?.reviewAdded?.createdAt, receivedAt);
      },
      error: (err) =>
        deliveries.error(
          Array.isArray(err)
            ? String((err[0] as { message?: string })?.message)
            : `socket: ${String((err as { code?: number }).code ?? err)}`,
        ),
      complete: () => deliveries.error('completed'),
    },
  );
  return client;
}

/** One raw ws client: its messages carry `payload.data.reviewAdded.createdAt`. */
async function connectRaw(url: string, deliveries: Deliveries): Promise<WebSocket> {
  const socket = new WebSocket(url);
  socket.on('message', (data: Buffer) => {
    const receivedAt = Date.now();
    const message = JSON.parse(data.toString('utf8')) as { payload?: ReviewResult };
    deliveries.record(message.payload?.data?.reviewAdded?.createdAt, receivedAt);
  });
  socket.on('error', (err) => deliveries.error(`socket: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ws: ${url} did not open within 10 s`)), 10_000);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return socket;
}

/** Polls `read` every 100 ms until `done` says so or `timeoutMs` have passed; returns the last value. */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await sleep(100);
    value = await read();
  }
  return value;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

async function postJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { method: 'POST' });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

function printReport(report: FederationSubscriptionsReport): void {
  const { options, gateway, rawWs } = report;
  const rows = [
    ['Interchange', gateway],
    ['raw ws (ceiling)', rawWs],
  ] as const;
  const errors = (f: DeliveryFigures) =>
    Object.entries(f.errors)
      .map(([k, v]) => `${k} x${v}`)
      .join(', ') || 'none';
  const out = [
    '',
    `Federation subscriptions: ${options.subscribers} distinct reviewAdded subscriptions (one socket each), ` +
      `${options.rate} events/s for ${options.seconds} s after ${options.warmup} s of warm-up; ` +
      (report.pinned ? `process under test on core ${report.pinned.gateway}, the rest on ${report.pinned.rest}` : 'not pinned to cores'),
    `upstream subscriptions at the reviews subgraph: ${report.upstreamSubscriptions}; a delivery is a ${report.messageBytes}-byte message`,
    '',
    table([
      [
        'server',
        'events',
        'clients',
        'expected',
        'delivered',
        'p50 ms',
        'p99 ms',
        'max ms',
        'CPU s',
        'CPU ms/event/sub',
        'deliveries/CPU s',
        'vs raw ws',
        'peak RSS MB',
        'errors',
      ],
      ...rows.map(([name, f]) => [
        name,
        f.events,
        f.clients,
        f.expected,
        f.delivered,
        f.latencyMs.p50,
        f.latencyMs.p99,
        f.latencyMs.max,
        round(f.cpuSeconds, 2),
        round(f.cpuMsPerDelivery, 4),
        round(f.deliveriesPerCpuSecond),
        `${round(f.cpuMsPerDelivery / rawWs.cpuMsPerDelivery, 1)}x CPU`,
        round(f.peakRssMb),
        errors(f),
      ]),
    ]),
    '',
    `delivered: by ${DRAIN_MS / 1000} s after the last event; latency: client receipt - publish time (the subgraph stamps each review, the raw server each round);`,
    'CPU, RSS: the server process only;',
    `CPU ms/event/sub = its CPU over the window (${round(gateway.windowSeconds, 1)} s / ${round(rawWs.windowSeconds, 1)} s) / (events x subscribers)`,
    ...gateway.others.map(
      (o) => `${o.name} during Interchange's window: ${round(o.cpuSeconds, 2)} CPU s, peak RSS ${round(o.peakRssMb)} MB`,
    ),
    `other processes on this machine (not the bench's) took ${round(gateway.otherCpuSeconds, 1)} / ${round(rawWs.otherCpuSeconds, 1)} CPU s ` +
      'in the windows of Interchange / raw ws',
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');
  const json = (f: DeliveryFigures) => ({
    ...f,
    latencyMs: { p50: round(f.latencyMs.p50), p99: round(f.latencyMs.p99), max: round(f.latencyMs.max) },
    cpuSeconds: round(f.cpuSeconds, 3),
    windowSeconds: round(f.windowSeconds, 2),
    peakRssMb: round(f.peakRssMb),
    cpuMsPerDelivery: round(f.cpuMsPerDelivery, 4),
    deliveriesPerCpuSecond: round(f.deliveriesPerCpuSecond),
    others: f.others.map((o) => ({ name: o.name, cpuSeconds: round(o.cpuSeconds, 3), peakRssMb: round(o.peakRssMb) })),
    otherCpuSeconds: round(f.otherCpuSeconds, 1),
  });
  process.stdout.write(JSON.stringify({ ...report, gateway: json(gateway), rawWs: json(rawWs) }) + '\n');
}
