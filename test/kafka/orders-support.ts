/** What the Kafka-backed orders tests share: process settings for the mock, the external producer, and reading orders back. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { waitFor } from '../../lib/eventlog/contract.ts';
import { repoRoot } from '../../lib/supervisor.ts';
import type { OrderEvent } from '../../services/events/orders.ts';
import { OrderProjection } from '../../subgraphs/orders/projection.ts';
import { postGraphQL } from '../support/graphql.ts';
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
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/kafka/producer.ts', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
