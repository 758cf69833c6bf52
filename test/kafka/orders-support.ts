/** What the Kafka-backed orders tests share: process settings for the mock, the external producer, and reading orders back. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { waitFor } from '../support/eventlog-contract.ts';
import { repoRoot } from '../../lib/supervisor.ts';
import type { OrderEvent } from '../../services/events/orders.ts';
import { OrderProjection } from '../../subgraphs/orders/projection.ts';
import { postGraphQL } from '../support/graphql.ts';
import { startExampleSystem, type ExampleSystem, type SystemOptions } from '../../scripts/system.ts';
import { buildMockBroker, startMockCluster, type MockCluster } from './mock-cluster.ts';
import { orderStream } from './order-stream.ts';

export { waitFor };

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

export interface ProducerRun {
  orders: number;
  seed: number;
  prefix: string;
  rate?: number;
  malformed?: number;
}

/** Runs the external producer process to the end; resolves with the records it sent. */
export async function runProducer(brokers: string, run: ProducerRun): Promise<number> {
  const args = ['--brokers', brokers, '--orders', String(run.orders), '--seed', String(run.seed), '--prefix', run.prefix];
  if (run.rate) args.push('--rate', String(run.rate));
  if (run.malformed) args.push('--malformed', String(run.malformed));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const child = spawn(process.execPath, ['test/kafka/producer.ts', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  assert.equal(code, 0, `producer failed:\n${output}`);
  const done = /DONE (\d+)/.exec(output);
  assert.ok(done, output);
  return Number(done[1]);
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
export async function readOrders(url: string, ids: string[]) {
  const found: unknown[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const query = `{ ${chunk.map((id, n) => `o${n}: order(id: ${JSON.stringify(id)}) { id status version totalCents customer { id } lines { product { id } quantity unitPriceCents } }`).join(' ')} }`;
    const { body } = await postGraphQL<Record<string, unknown>>(url, query);
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

export async function projectionStatus(baseUrl: string): Promise<{ status: number; projection: ProjectionStatus }> {
  const response = await fetch(`${baseUrl}/readyz`);
  const body = (await response.json()) as { projection: ProjectionStatus };
  return { status: response.status, projection: body.projection };
}

export interface KafkaSystem {
  cluster: MockCluster;
  system: ExampleSystem;
  graphqlUrl: string;
  /** The orders subgraph's base URL (for /readyz and /metrics). */
  ordersUrl: string;
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
}

/** A mock Kafka cluster and the whole example system on it, once the orders projection is ready. */
export async function startKafkaSystem(options: KafkaSystemOptions = {}): Promise<KafkaSystem> {
  await buildMockBroker();
  const cluster = await startMockCluster({ brokers: options.brokers ?? 3, topics });
  const delays = { PAY_DELAY_MS: String(options.payDelayMs ?? 200), SHIP_DELAY_MS: String(options.shipDelayMs ?? 200) };
  let system: ExampleSystem;
  try {
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
    });
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  const ordersUrl = `http://127.0.0.1:${system.processes.get('orders-subgraph')!.ports['http']}`;
  const stop = async () => {
    await system.stop();
    await cluster.stop();
  };
  try {
    await waitFor(async () => (await fetch(`${ordersUrl}/readyz`).catch(() => undefined))?.status === 200, 30_000, 'the orders projection never became ready');
  } catch (err) {
    await stop();
    throw err;
  }
  return { cluster, system, graphqlUrl: `${system.gatewayUrl}/graphql`, ordersUrl, stop };
}
