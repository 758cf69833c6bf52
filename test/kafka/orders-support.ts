/** What the Kafka-backed orders tests share: process settings for the mock, the external producer, and reading orders back. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { waitFor, withTimeout } from '../support/wait.ts';
import { childEnv, repoRoot, startChild, type Child } from '../../lib/supervisor.ts';
import { TEST_IDENTITY_SECRET, identityHeaders } from '../support/identity.ts';
import type { OrderEvent } from '../../services/events/orders.ts';
import { OrderProjection } from '../../subgraphs/orders/projection.ts';
import { operatorHeaders, postGraphQL } from '../support/graphql.ts';
import { startExampleSystem, type ExampleSystem, type SystemOptions } from '../../scripts/system.ts';
import { buildMockBroker, startMockCluster, type MockCluster } from './mock-cluster.ts';
import { orderStream } from './order-stream.ts';

/** What kafkajs needs against the mock: short fetch waits, short sessions (DESIGN.md). */
export const kafkaEnv = {
  KAFKA_MAX_WAIT_MS: '100',
  KAFKA_SESSION_TIMEOUT_MS: '6000',
  KAFKA_HEARTBEAT_INTERVAL_MS: '500',
  KAFKA_REQUEST_TIMEOUT_MS: '5000',
};

export const topics = [
  { name: 'orders.events', partitions: 6 },
  { name: 'orders.events.dlq', partitions: 1 },
];

/** Where cleanups go: a test's context, or a suite's `Cleanups`. */
export interface CleanupScope {
  after(fn: () => unknown): void;
}

/** Cleanups a suite collects in its hooks and runs, the last first, from its `after`. */
export class Cleanups implements CleanupScope {
  readonly #fns: (() => unknown)[] = [];
  after(fn: () => unknown): void {
    this.#fns.push(fn);
  }
  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (let fn = this.#fns.pop(); fn; fn = this.#fns.pop()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

export interface ProducerRun {
  orders: number;
  seed: number;
  prefix: string;
  rate?: number;
  malformed?: number;
}

export interface Producing {
  /** Resolves with the records sent once the producer exited 0; rejects if it failed. */
  done: Promise<number>;
  /** Kills the producer if it still runs (safe to call more than once); for cleanup. */
  stop(): void;
}

/**
 * Starts the external producer process. Its stdin is a pipe from this process: if this process
 * dies, the pipe closes and the producer exits. Register `stop` for cleanup before awaiting `done`.
 */
export function startProducer(brokers: string, run: ProducerRun): Producing {
  const args = [
    '--brokers',
    brokers,
    '--orders',
    String(run.orders),
    '--seed',
    String(run.seed),
    '--prefix',
    run.prefix,
    '--exit-with-stdin',
  ];
  if (run.rate) args.push('--rate', String(run.rate));
  if (run.malformed) args.push('--malformed', String(run.malformed));
  const child = spawn(process.execPath, ['test/kafka/producer.ts', ...args], {
    cwd: repoRoot,
    env: childEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => undefined);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const done = exited.then(([code, signal]) => {
    assert.equal(code, 0, `producer failed (${signal ?? `code ${code}`}):\n${output}`);
    const sent = /DONE (\d+)/.exec(output);
    assert.ok(sent, output);
    return Number(sent[1]);
  });
  done.catch(() => undefined); // the caller sees the failure when it awaits `done`
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { done, stop };
}

/**
 * Runs the external producer process to the end; resolves with the records it sent. The producer
 * is killed when the test `t` ends, whether it failed or not.
 */
export async function runProducer(t: CleanupScope, brokers: string, run: ProducerRun): Promise<number> {
  const producer = startProducer(brokers, run);
  t.after(() => producer.stop());
  return withTimeout(producer.done, 120_000, `the producer of ${run.prefix} did not finish`);
}

/** The orders a stream should end in, computed by the projection code itself from the stream alone. */
export function expectedOrders(events: OrderEvent[]) {
  const projection = new OrderProjection();
  events.forEach((event, offset) => projection.apply({ partition: 0, offset }, event));
  return projection.snapshot().map((o) => ({
    id: o.id,
    status: o.status,
    version: o.version,
    totalCents: o.totalCents,
    customer: { id: o.customerId },
    lines: o.lines.map((l) => ({ product: { id: l.productId }, quantity: l.quantity, unitPriceCents: l.unitPriceCents })),
  }));
}

export const expectedFor = (run: ProducerRun) => expectedOrders(orderStream(run.orders, run.seed, run.prefix));

/** Reads orders by id through a GraphQL endpoint, 100 per request. */
/** Reads orders straight from an orders subgraph at `url`, signing as the gateway would with `secret`. */
export async function readOrders(url: string, ids: string[], secret: string = TEST_IDENTITY_SECRET) {
  const found: unknown[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const query = `{ ${chunk.map((id, n) => `o${n}: order(id: ${JSON.stringify(id)}) { id status version totalCents customer { id } lines { product { id } quantity unitPriceCents } }`).join(' ')} }`;
    const { body } = await postGraphQL<Record<string, unknown>>(url, query, undefined, identityHeaders(secret));
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    found.push(...chunk.map((_, n) => body.data?.[`o${n}`] ?? null));
  }
  return found;
}

export interface ProjectionStatus {
  caughtUp: boolean;
  stale: boolean;
  sinceLastFetchMs: number | null;
  applied: number;
  deadLettered: number;
  totalLag: number;
  partitions: { partition: number; position: number; highWatermark: number | null; lag: number | null }[];
}

/** The projection section of the orders subgraph's detailed /readyz, on its ops listener at `opsUrl`. */
export async function projectionStatus(opsUrl: string): Promise<{ status: number; projection: ProjectionStatus }> {
  const response = await fetch(`${opsUrl}/readyz`);
  const body = (await response.json()) as { projection: ProjectionStatus };
  return { status: response.status, projection: body.projection };
}

/**
 * An orders subgraph process of its own on `cluster` (no other process of the example system),
 * keeping its snapshots in `dataDir`, with TEST_IDENTITY_SECRET; `env` is laid over the settings.
 * The caller stops it.
 */
export function startOrdersSubgraph(
  cluster: Pick<MockCluster, 'bootstrap'>,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<Child<'http' | 'ops'>> {
  return startChild({
    name: 'orders-subgraph',
    entry: 'subgraphs/orders/main.ts',
    env: {
      ...kafkaEnv,
      KAFKA_BROKERS: cluster.bootstrap,
      LOG_LEVEL: 'warn',
      PORT: '0',
      OPS_PORT: '0',
      DATA_DIR: dataDir,
      IDENTITY_SECRET: TEST_IDENTITY_SECRET,
      ...env,
    },
    listeners: ['http', 'ops'],
  });
}

export interface KafkaSystem {
  cluster: MockCluster;
  system: ExampleSystem;
  graphqlUrl: string;
  /** The orders subgraph's base URL (its GraphQL endpoint is `/graphql`). */
  ordersUrl: string;
  /** The orders subgraph's ops listener (its /readyz and /metrics). */
  ordersOpsUrl: string;
  /** An operator's `Authorization` header (every scope): also a graphql-ws `connection_init` payload as it is. */
  auth: Record<string, string>;
  stop(): Promise<void>;
}

export interface KafkaSystemOptions {
  brokers?: number;
  /** The fulfillment service's delays, in ms. */
  payDelayMs?: number;
  shipDelayMs?: number;
  /** More environment per process, laid over the Kafka settings. */
  env?: SystemOptions['env'];
  onLine?: SystemOptions['onLine'];
  gatewayRoute?: SystemOptions['gatewayRoute'];
}

/**
 * Whether the orders projection has everything the topic has: ready, no lag, every partition's
 * position at its end offset. Cheap (one /readyz request); wait on it before comparing orders.
 */
export async function caughtUp(opsUrl: string): Promise<boolean> {
  const { status, projection } = await projectionStatus(opsUrl);
  return (
    status === 200 &&
    projection.totalLag === 0 &&
    projection.partitions.every((p) => p.highWatermark !== null && p.lag === 0 && p.position >= p.highWatermark)
  );
}

/**
 * Waits until the orders subgraph whose ops listener is `opsUrl` has applied everything in the topic, then until the
 * orders read back through `graphqlUrl` are `expected` (polling gently: reads compete for the CPU
 * with the projection they wait for).
 */
export async function untilOrdersMatch(
  opsUrl: string,
  graphqlUrl: string,
  expected: unknown[],
  message: string,
  secret: string = TEST_IDENTITY_SECRET,
): Promise<void> {
  const ids = (expected as { id: string }[]).map((o) => o.id);
  const want = JSON.stringify(expected);
  await waitFor(() => caughtUp(opsUrl), 120_000, `${message} (the projection never caught up with the topic)`, 250);
  await waitFor(async () => JSON.stringify(await readOrders(graphqlUrl, ids, secret)) === want, 120_000, message, 500);
}

/**
 * A mock Kafka cluster and the whole example system on it, once the orders projection is ready.
 * With a `scope` (a test context or a suite's `Cleanups`) everything it starts is stopped when the
 * scope ends, even when starting fails half-way; without one, the caller calls `stop`. Either way a
 * failed start stops what it started before rejecting.
 */
export async function startKafkaSystem(options: KafkaSystemOptions = {}, scope?: CleanupScope): Promise<KafkaSystem> {
  let cluster: MockCluster | undefined;
  let system: ExampleSystem | undefined;
  const stop = async () => {
    await system?.stop();
    await cluster?.stop();
  };
  scope?.after(stop);
  try {
    await buildMockBroker();
    cluster = await startMockCluster({ brokers: options.brokers ?? 3, topics });
    const delays = { PAY_DELAY_MS: String(options.payDelayMs ?? 200), SHIP_DELAY_MS: String(options.shipDelayMs ?? 200) };
    system = await startExampleSystem({
      host: '127.0.0.1',
      gatewayPort: 0,
      logLevel: 'warn',
      kafkaBrokers: cluster.bootstrap,
      env: {
        ...options.env,
        'orders-subgraph': { ...kafkaEnv, ...options.env?.['orders-subgraph'] },
        'fulfillment-service': { ...kafkaEnv, ...delays, ...options.env?.['fulfillment-service'] },
      },
      ...(options.onLine && { onLine: options.onLine }),
      ...(options.gatewayRoute && { gatewayRoute: options.gatewayRoute }),
    });
    const ordersUrl = `http://127.0.0.1:${system.processes.get('orders-subgraph')!.ports['http']}`;
    const ordersOpsUrl = system.opsUrl('orders-subgraph');
    await waitFor(
      async () => (await fetch(`${ordersOpsUrl}/readyz`).catch(() => undefined))?.status === 200,
      120_000,
      'the orders projection never became ready',
      250,
    );
    return {
      cluster,
      system,
      graphqlUrl: `${system.gatewayUrl}/graphql`,
      ordersUrl,
      ordersOpsUrl,
      auth: await operatorHeaders(system),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
