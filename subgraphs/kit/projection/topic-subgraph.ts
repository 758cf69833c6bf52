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
import type { z } from 'zod';
import { setting } from '../../../lib/config.ts';
import type { EventLog } from '../../../lib/eventlog/types.ts';
import type { Logger } from '../../../lib/logger.ts';
import { readEventSchemas } from './event-schemas.ts';
import { createProjectionRuntime, type ProjectionRuntime } from './runtime.ts';
import { createProjectionEventLog, eventLogMode, projectionSettings } from './settings.ts';
import type { EventStreams } from './stream.ts';
import { eventInlet, isTopicEntity, topicDecoder, TopicProjection, type TopicEntity, type TopicEvent } from './topic.ts';

/** The settings of a topic subgraph, besides the kit's own (`subgraphConfig` adds those) and its TOPIC. */
export const topicSettings = {
  /** Kafka, DATA_DIR (snapshots under `<name>/`, the embedded log under `<name>/eventlog/`, fed through POST /events), snapshots, journal, subscriptions. */
  ...projectionSettings,
  /** Partitions of the topic in the embedded log (an existing embedded topic keeps its count). */
  EMBEDDED_PARTITIONS: setting.count(3),
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
  /** Properties its entities are listed by (`productId`: for `Product.stockLevels`); TopicProjection.listedBy reads them. */
  indexes?: readonly string[] | undefined;
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
    createProjectionEventLog(config, {
      clientId: `${name}-subgraph`,
      partitions: { [config.TOPIC]: config.EMBEDDED_PARTITIONS },
      dir: join(config.DATA_DIR, name, 'eventlog'),
      logger: log,
    });
  const registry = new Registry();
  const runtime = createProjectionRuntime<TopicEntity, TopicEvent, TopicProjection, EventStreams<TopicEntity, TopicEvent>>({
    name,
    field: options.field,
    entities: options.entities,
    events,
    topic: config.TOPIC,
    deadLetterTopic: `${config.TOPIC}.dlq`,
    groupId: config.PROJECTION_GROUP_ID ?? `${name}-projection-${randomUUID()}`,
    projection: new TopicProjection(contract, { indexes: options.indexes }),
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
  const mode = eventLogMode(config, !ownLog);
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
