/**
 * The chaos run's faults and their schedule. Each fault is one named step at a fraction of the
 * fault phase; a step that fails is recorded (with why) and the schedule goes on.
 */
import type { ExampleSystem } from '../../scripts/system.ts';
import type { MockCluster } from '../kafka/mock-cluster.ts';
import type { ChaosLog } from './log.ts';
import type { ChaosSubscriber } from './subscribers.ts';

export interface FaultContext {
  system: ExampleSystem;
  cluster: MockCluster;
  log: ChaosLog;
  topic: string;
  brokers: number;
  subscribers: readonly ChaosSubscriber[];
  /** Records already published by the producer, to publish again (duplicates by event id). */
  published(): { key: string; value: string }[];
}

export interface Fault {
  /** When, as a fraction (0..1) of the fault phase. */
  at: number;
  name: string;
  /** Does it; resolves with a detail for the report. */
  run(ctx: FaultContext): Promise<string>;
}

export interface FaultRecord {
  name: string;
  /** When it started, in ms after the fault phase began. */
  atMs: number;
  tookMs: number;
  ok: boolean;
  detail: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kill -9 and start again (same port), after `downMs` down. */
const restart =
  (name: 'orders-subgraph' | 'gateway', downMs: number) =>
  async ({ system }: FaultContext): Promise<string> => {
    const old = system.processes.get(name)?.process.pid;
    const child = await system.restart(name, { signal: 'SIGKILL', downMs });
    return `pid ${old} killed, pid ${child.process.pid} listening after ${downMs} ms down`;
  };

/**
 * Drops about a third of the subscribers (those in every third group of three, from group
 * `offset`: every class, `after` as a literal and as a variable), then resumes them from their
 * positions.
 */
const dropAndResume =
  (offset: number, downMs: number) =>
  async ({ subscribers }: FaultContext): Promise<string> => {
    const chosen = subscribers.filter((_, i) => Math.floor(i / 3) % 3 === offset);
    for (const s of chosen) s.drop();
    await sleep(downMs);
    for (const s of chosen) s.start();
    const withPosition = chosen.filter((s) => s.position !== undefined).length;
    return `${chosen.length} dropped for ${downMs} ms and resumed (${withPosition} with a position, ${chosen.length - withPosition} live)`;
  };

/** Malformed records, a well-formed event outside the life cycle, and duplicates of published events. */
export function hostileRecords(tag: string, published: { key: string; value: string }[]): { key: string; value: string }[] {
  const envelope = (fields: Record<string, unknown>) =>
    JSON.stringify({ id: `${tag}-${String(fields['type'])}`, version: 1, occurredAt: new Date().toISOString(), ...fields });
  const ghost = `${tag}-ghost`;
  return [
    { key: ghost, value: '{"not": json' },
    { key: ghost, value: '' },
    { key: ghost, value: envelope({ type: 'OrderTeleported', orderId: ghost, data: {} }) },
    { key: ghost, value: envelope({ type: 'OrderPlaced', orderId: ghost, data: { customerId: 'c1', lines: [] } }) },
    { key: ghost, value: envelope({ type: 'OrderPlaced', orderId: ghost, version: 2, data: { customerId: 'c1', lines: [] } }) },
    { key: ghost, value: envelope({ type: 'OrderShipped', orderId: ghost, data: { carrier: 'Nobody' } }) },
    ...published.slice(0, 3),
  ];
}

const publishHostile =
  (tag: string) =>
  async (ctx: FaultContext): Promise<string> => {
    const records = hostileRecords(tag, ctx.published());
    await ctx.log.publish(records);
    return `${records.length} records (6 malformed or outside the life cycle, ${records.length - 6} duplicates)`;
  };

const leaderDown = async ({ log, cluster }: FaultContext): Promise<string> => {
  const [leader] = await log.leaders();
  if (leader === undefined || leader < 1) throw new Error(`partition 0 has no leader (${leader})`);
  await cluster.brokerDown(leader);
  await sleep(5_000);
  await cluster.brokerUp(leader);
  return `broker ${leader} (leader of partition 0) down for 5 s`;
};

const allDown = async ({ cluster }: FaultContext): Promise<string> => {
  await cluster.brokerDown(-1);
  await sleep(5_000);
  await cluster.brokerUp(-1);
  return 'every broker down for 5 s';
};

const moveLeaders = async ({ log, cluster, topic, brokers }: FaultContext): Promise<string> => {
  const leaders = await log.leaders();
  const moved = leaders.map((leader) => (leader % brokers) + 1);
  for (const [partition, broker] of moved.entries()) await cluster.setLeader(topic, partition, broker);
  return `leaders ${leaders.join(',')} -> ${moved.join(',')}`;
};

/** The schedule: every fault the brief of a chaos run names, spread over the fault phase. */
export const schedule: readonly Fault[] = [
  { at: 0.08, name: 'kill -9 the orders subgraph', run: restart('orders-subgraph', 2_000) },
  { at: 0.18, name: 'drop a third of the subscribers', run: dropAndResume(0, 2_000) },
  { at: 0.26, name: 'publish malformed records', run: publishHostile('chaos-a') },
  { at: 0.32, name: 'take a partition leader down', run: leaderDown },
  { at: 0.44, name: 'kill -9 the gateway', run: restart('gateway', 2_000) },
  { at: 0.54, name: 'take every broker down', run: allDown },
  { at: 0.64, name: 'move partition leadership', run: moveLeaders },
  { at: 0.72, name: 'kill -9 the orders subgraph again', run: restart('orders-subgraph', 2_000) },
  { at: 0.82, name: 'drop another third of the subscribers', run: dropAndResume(1, 2_000) },
  { at: 0.88, name: 'publish malformed records again', run: publishHostile('chaos-b') },
];

/**
 * Runs the schedule over `phaseMs`, one fault at a time (a slow one delays the next); each fault
 * gets `stepTimeoutMs`. Stops early (skipping the rest) when `signal` aborts.
 */
export async function runSchedule(
  faults: readonly Fault[],
  ctx: FaultContext,
  phaseMs: number,
  options: { stepTimeoutMs: number; signal: AbortSignal; onFault?: (record: FaultRecord) => void },
): Promise<FaultRecord[]> {
  const began = Date.now();
  const records: FaultRecord[] = [];
  for (const fault of faults) {
    const wait = began + fault.at * phaseMs - Date.now();
    if (wait > 0) await sleep(wait);
    if (options.signal.aborted) break;
    const start = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${options.stepTimeoutMs} ms`)), options.stepTimeoutMs);
    });
    const record: FaultRecord = { name: fault.name, atMs: start - began, tookMs: 0, ok: true, detail: '' };
    try {
      record.detail = await Promise.race([fault.run(ctx), timeout]);
    } catch (err) {
      record.ok = false;
      record.detail = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
    } finally {
      clearTimeout(timer);
    }
    record.tookMs = Date.now() - start;
    records.push(record);
    options.onFault?.(record);
  }
  return records;
}
