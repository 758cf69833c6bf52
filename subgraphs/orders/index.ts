/**
 * The orders subgraph: a projection of the `orders.events` topic, with mutations that publish
 * events. The event log is Kafka when KAFKA_BROKERS is set, otherwise an embedded in-process log;
 * with the embedded log the fulfillment service runs in this process too (it needs the same log).
 * The `orderEvents` subscription streams the events the projection applies (journal.ts, stream.ts).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { setting } from '../../lib/config.ts';
import { deadlineFrom } from '../../lib/deadline.ts';
import type { EventLog } from '../../lib/eventlog/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '../../services/events/orders.ts';
import { Fulfillment } from '../../services/fulfillment/fulfillment.ts';
import { CatalogSource } from '../catalog/datasource.ts';
import { CustomersSource } from '../customers/datasource.ts';
import { resilienceFrom, subgraphConfig } from '../kit/config.ts';
import { loadSubgraphSdl, type SubgraphModule } from '../kit/subgraph.ts';
import { createProjectionRuntime } from '../kit/projection/runtime.ts';
import { createProjectionEventLog, eventLogMode, projectionSettings } from '../kit/projection/settings.ts';
import { decodeOrderEvent } from '../../services/events/orders.ts';
import { OrderCommands } from './commands.ts';
import { OrderProjection } from './projection.ts';
import { resolvers, type OrdersContext } from './resolvers.ts';
import { ordersSnapshotNames } from './snapshot.ts';
import { OrderEventStreams } from './stream.ts';

export const ordersConfig = subgraphConfig({
  /** Kafka, DATA_DIR (snapshots under `orders/`, the embedded log under `eventlog/`), snapshots, journal, subscriptions. */
  ...projectionSettings,
  /** Partitions of the topic in the embedded log (Kafka topics are created outside; an existing embedded topic keeps its count). */
  EMBEDDED_PARTITIONS: setting.count(6),
  /** Run the fulfillment service in this process (embedded log only). */
  EMBEDDED_FULFILLMENT: setting.flag(true),
  FULFILLMENT_PAY_DELAY_MS: z.coerce.number().int().min(0).default(1_500),
  FULFILLMENT_SHIP_DELAY_MS: z.coerce.number().int().min(0).default(3_000),
  /**
   * Longest a mutation may take, in ms, checks, publishing and read-your-writes together; the
   * gateway's `interchange-timeout-ms` header (less a margin for the answer) cuts it shorter. Below
   * the gateway's SUBGRAPH_TIMEOUT_MS, so that a caller without the header still hears the answer.
   */
  COMMAND_TIMEOUT_MS: setting.millis(8_000),
  /** Longest a mutation waits for its event to be applied before answering PROJECTION_BEHIND, in ms (within the deadline). */
  READ_YOUR_WRITES_TIMEOUT_MS: setting.millis(3_000),
  /** Longest publishing an event may take before a mutation answers EVENT_LOG_UNAVAILABLE, in ms (within the deadline). */
  PUBLISH_TIMEOUT_MS: setting.millis(4_000),
  CUSTOMERS_SERVICE_URL: setting.url().default('http://127.0.0.1:4201'),
  CATALOG_SERVICE_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
    .default('127.0.0.1:4202'),
}).superRefine((config, ctx) => {
  // Each step gets its whole wait within a mutation's budget, with room left for the checks.
  if (config.PUBLISH_TIMEOUT_MS + config.READ_YOUR_WRITES_TIMEOUT_MS >= config.COMMAND_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['COMMAND_TIMEOUT_MS'],
      message: `must be more than PUBLISH_TIMEOUT_MS + READ_YOUR_WRITES_TIMEOUT_MS (${config.PUBLISH_TIMEOUT_MS} + ${config.READ_YOUR_WRITES_TIMEOUT_MS} ms)`,
    });
  }
});

export type OrdersConfig = z.output<typeof ordersConfig>;

export function createEventLog(config: OrdersConfig, log: Logger, clientId: string): EventLog {
  return createProjectionEventLog(config, {
    clientId,
    partitions: { [ORDERS_TOPIC]: config.EMBEDDED_PARTITIONS },
    dir: join(config.DATA_DIR, 'eventlog'),
    logger: log,
  });
}

/**
 * Builds the orders subgraph. `eventLog`, when given, is used instead of the configured one (tests
 * share one embedded log between instances); it stays the caller's: `close` does not close it.
 */
export function createOrdersSubgraph(config: OrdersConfig, log: Logger, eventLog?: EventLog): SubgraphModule<OrdersContext> {
  const ownLog = eventLog === undefined;
  const events = eventLog ?? createEventLog(config, log, 'orders-subgraph');
  const registry = new Registry();
  const projection = createProjectionRuntime({
    name: 'orders',
    field: 'orderEvents',
    entities: 'orders',
    events,
    topic: ORDERS_TOPIC,
    deadLetterTopic: ORDERS_DEAD_LETTER_TOPIC,
    groupId: config.PROJECTION_GROUP_ID ?? `orders-projection-${randomUUID()}`,
    projection: new OrderProjection(),
    decode: decodeOrderEvent,
    snapshot: {
      file: join(config.DATA_DIR, 'orders', 'projection.snapshot'),
      intervalMs: config.SNAPSHOT_INTERVAL_MS,
      names: ordersSnapshotNames,
    },
    journalMaxEvents: config.JOURNAL_MAX_EVENTS,
    bufferEvents: config.SUBSCRIPTION_BUFFER_EVENTS,
    logger: log,
    registry,
    streams: (options) => new OrderEventStreams(options),
  });
  const { projector, streams } = projection;
  const customers = new CustomersSource({ ...resilienceFrom(config, 'customers-service'), baseUrl: config.CUSTOMERS_SERVICE_URL, log });
  const catalog = new CatalogSource(config.CATALOG_SERVICE_ADDRESS, resilienceFrom(config, 'catalog-service'));
  const commands = new OrderCommands({
    log: events,
    topic: ORDERS_TOPIC,
    projector,
    customers,
    catalog,
    readYourWritesTimeoutMs: config.READ_YOUR_WRITES_TIMEOUT_MS,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
  });
  const fulfillment =
    !config.KAFKA_BROKERS && config.EMBEDDED_FULFILLMENT
      ? new Fulfillment({
          log: events,
          logger: log,
          payDelayMs: config.FULFILLMENT_PAY_DELAY_MS,
          shipDelayMs: config.FULFILLMENT_SHIP_DELAY_MS,
        })
      : undefined;
  return {
    name: 'orders',
    typeDefs: loadSubgraphSdl('orders'),
    resolvers,
    createContext: (request) => ({
      projection: projector.projection,
      commands,
      events: streams,
      extensions: request.extensions,
      deadline: deadlineFrom(request.headers, config.COMMAND_TIMEOUT_MS),
      principal: request.principal,
    }),
    upstreams: { 'customers-service': customers.client.policy, 'catalog-service': catalog.caller.policy },
    registry,
    // In the background: /healthz answers at once, /readyz once the projection has caught up.
    start: async () => {
      projection.start();
      void fulfillment?.start().catch((err: unknown) => log.error({ err }, 'the embedded fulfillment service failed to start'));
    },
    readiness: () => {
      const { ready, projection: status, journal: journalStatus } = projection.readiness();
      const { entities: orders, ...rest } = status;
      return {
        ready,
        eventLog: eventLogMode(config, !ownLog),
        projection: { ...rest, orders },
        journal: journalStatus,
      };
    },
    close: async () => {
      await fulfillment?.stop();
      await projection.stop();
      if (ownLog) await events.close();
      catalog.close();
    },
  };
}
