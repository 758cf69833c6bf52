/**
 * What a subgraph scaffolded from a topic runs on (`interchange subgraph new --from-topic`): its
 * settings, its event log (Kafka, or the embedded log under DATA_DIR/<name>/ with the `POST /events`
 * inlet on the ops listener), and its projection of the topic (runtime.ts over topic.ts), validated
 * by the event schemas under schema/events/<name>/. The generated index.ts, resolvers.ts and SDL
 * say what is served; everything else is here.
 */
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Express } from 'express';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { DEFAULT_DATA_DIR, setting } from '../../../lib/config.ts';
import { kafkaOptions, kafkaSettings } from '../../../lib/eventlog/config.ts';
import { KafkaEventLog } from '../../../lib/eventlog/kafka.ts';
import { MemoryEventLog } from '../../../lib/eventlog/memory.ts';
import type { EventLog } from '../../../lib/eventlog/types.ts';
import type { Logger } from '../../../lib/logger.ts';
import { readEventSchemas } from './event-schemas.ts';
import { createProjectionRuntime, type ProjectionRuntime } from './runtime.ts';
import type { EventStreams } from './stream.ts';
import { eventInlet, isTopicEntity, topicDecoder, TopicProjection, type TopicEntity, type TopicEvent } from './topic.ts';

/** The settings of a topic subgraph, besides the kit's own (`subgraphConfig` adds those) and its TOPIC. */
export const topicSettings = {
  /** Kafka (KAFKA_BROKERS unset: the embedded log, under DATA_DIR/<name>/eventlog, fed through POST /events). */
  ...kafkaSettings,
  /** Where it keeps its snapshots (and the embedded log): DATA_DIR/<name>/. Default: `.data/` in the project. */
  DATA_DIR: setting.directory(DEFAULT_DATA_DIR),
  /** Time between snapshots of the projection and journal, in ms (one more is taken on a graceful stop). */
  SNAPSHOT_INTERVAL_MS: setting.millis(30_000),
  /** Partitions of the topic in the embedded log (an existing embedded topic keeps its count). */
  EMBEDDED_PARTITIONS: setting.count(3),
  /** Consumer group of this replica's projection; unique by default, since each replica reads every partition. */
  PROJECTION_GROUP_ID: z.string().min(1).optional(),
  /** Applied events kept for the subscription to resume from, split over the partitions (see the orders subgraph). */
  JOURNAL_MAX_EVENTS: setting.count(100_000),
  /** Live events one subscription may have waiting before it ends with SUBSCRIBER_TOO_SLOW. */
  SUBSCRIPTION_BUFFER_EVENTS: setting.count(10_000),
};

export type TopicSubgraphConfig = z.output<z.ZodObject<typeof topicSettings>> & { TOPIC: string };

export interface TopicSubgraphOptions {
  /** The subgraph's name: its folders, logs and metrics (`inventory`). */
  name: string;
  /** Its entity's name as the SDL has it (`StockLevel`), and its subscription field (`stockLevelEvents`). */
  entity: string;
  /** Its entities in log messages (`stockLevels`). */
  entities: string;
  field: string;
  /** The event schemas' folder; default: schema/events/<name>/ of the project. */
  schemas?: string;
  /** An event log to use instead of the configured one (tests); it stays the caller's. */
  eventLog?: EventLog | undefined;
}

export interface TopicSubgraph {
  runtime: ProjectionRuntime<TopicEntity, TopicEvent, TopicProjection, EventStreams<TopicEntity, TopicEvent>>;
  registry: Registry;
  /** The embedded log's `POST /events`; none on Kafka or with an injected log. */
  opsRoutes: ((app: Express) => void) | undefined;
  start(): Promise<void>;
  readiness(): Record<string, unknown> & { ready: boolean };
  close(): Promise<void>;
}

const projectRoot = resolve(import.meta.dirname, '../../..');

export function createTopicSubgraph(config: TopicSubgraphConfig, log: Logger, options: TopicSubgraphOptions): TopicSubgraph {
  const { name } = options;
  const contract = readEventSchemas(options.schemas ?? join(projectRoot, 'schema/events', name));
  const ownLog = options.eventLog === undefined;
  const events =
    options.eventLog ??
    (config.KAFKA_BROKERS
      ? new KafkaEventLog({ ...kafkaOptions(config, config.KAFKA_BROKERS, `${name}-subgraph`), logger: log })
      : new MemoryEventLog({
          partitions: { [config.TOPIC]: config.EMBEDDED_PARTITIONS },
          dir: join(config.DATA_DIR, name, 'eventlog'),
          logger: log,
        }));
  const registry = new Registry();
  const runtime = createProjectionRuntime<TopicEntity, TopicEvent, TopicProjection, EventStreams<TopicEntity, TopicEvent>>({
    name,
    field: options.field,
    entities: options.entities,
    events,
    topic: config.TOPIC,
    deadLetterTopic: `${config.TOPIC}.dlq`,
    groupId: config.PROJECTION_GROUP_ID ?? `${name}-projection-${randomUUID()}`,
    projection: new TopicProjection(contract),
    decode: topicDecoder(contract),
    snapshot: {
      file: join(config.DATA_DIR, name, 'projection.snapshot'),
      intervalMs: config.SNAPSHOT_INTERVAL_MS,
      names: { format: `interchange.${name}-snapshot`, entity: 'entity', keyOf: (entity) => entity.__key, isEntity: isTopicEntity },
    },
    journalMaxEvents: config.JOURNAL_MAX_EVENTS,
    bufferEvents: config.SUBSCRIPTION_BUFFER_EVENTS,
    logger: log,
    registry,
  });
  const mode = ownLog ? (config.KAFKA_BROKERS ? 'kafka' : 'embedded') : 'injected';
  return {
    runtime,
    registry,
    opsRoutes: mode === 'embedded' ? eventInlet(events, config.TOPIC, contract, log) : undefined,
    // In the background: /healthz answers at once, /readyz once the projection has caught up.
    start: async () => runtime.start(),
    readiness: () => ({ ...runtime.readiness(), eventLog: mode, topic: config.TOPIC }),
    close: async () => {
      await runtime.stop();
      if (ownLog) await events.close();
    },
  };
}
