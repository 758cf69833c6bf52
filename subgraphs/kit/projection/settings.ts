/**
 * What every projection subgraph (orders, and those scaffolded from a topic) is configured by, and
 * its event log made from that: Kafka when KAFKA_BROKERS is set, otherwise the embedded log.
 */
import { z } from 'zod';
import { DEFAULT_DATA_DIR, setting } from '../../../lib/config.ts';
import { kafkaOptions, kafkaSettings } from '../../../lib/eventlog/config.ts';
import { KafkaEventLog } from '../../../lib/eventlog/kafka.ts';
import { MemoryEventLog } from '../../../lib/eventlog/memory.ts';
import type { EventLog } from '../../../lib/eventlog/types.ts';
import type { Logger } from '../../../lib/logger.ts';

/** The settings of a projection subgraph, besides the kit's own (`subgraphConfig` adds those) and its own. */
export const projectionSettings = {
  /** Kafka (KAFKA_BROKERS unset: the embedded in-process log). */
  ...kafkaSettings,
  /**
   * Where this process keeps its data: the projection's snapshots (`<name>/`) in both modes, and
   * with the embedded log the log itself (the subgraph says where under it). One directory per
   * process. Default: `.data/` in the project.
   */
  DATA_DIR: setting.directory(DEFAULT_DATA_DIR),
  /** Time between snapshots of the projection and journal, in ms (one more is taken on a graceful stop). */
  SNAPSHOT_INTERVAL_MS: setting.millis(30_000),
  /** Consumer group of this replica's projection; unique by default (`<name>-projection-<uuid>`), since each replica reads every partition. */
  PROJECTION_GROUP_ID: z.string().min(1).optional(),
  /**
   * Applied events kept in memory (and in snapshots) for the subscription's `after` to resume from,
   * split evenly over the topic's partitions: each partition keeps its newest
   * floor(JOURNAL_MAX_EVENTS / partitions) events (at least one) and drops its oldest beyond that.
   * A cursor that needs a dropped event gets CURSOR_EXPIRED: so a cursor stays valid until that
   * many newer events of one partition have been applied, whatever happens on the others and in
   * whatever order a restarted projection replays them.
   */
  JOURNAL_MAX_EVENTS: setting.count(100_000),
  /**
   * Live events one subscription may have waiting for its client; when it falls that far behind it
   * is ended with SUBSCRIBER_TOO_SLOW (naming the last position delivered) instead of growing memory.
   */
  SUBSCRIPTION_BUFFER_EVENTS: setting.count(10_000),
};

export type ProjectionSettings = z.output<z.ZodObject<typeof projectionSettings>>;

/** Which event log a subgraph runs on, as its readiness reports it. */
export type EventLogMode = 'kafka' | 'embedded' | 'injected';

export const eventLogMode = (config: Pick<ProjectionSettings, 'KAFKA_BROKERS'>, injected: boolean): EventLogMode =>
  injected ? 'injected' : config.KAFKA_BROKERS ? 'kafka' : 'embedded';

export interface ProjectionEventLogOptions {
  /** The Kafka client id (`orders-subgraph`). */
  clientId: string;
  /** The embedded log's topics and their partition counts (an existing embedded topic keeps its count). */
  partitions: Record<string, number>;
  /** The embedded log's directory. */
  dir: string;
  logger: Logger;
}

/** The configured event log: Kafka when KAFKA_BROKERS is set, else the embedded log in `dir`. */
export function createProjectionEventLog(config: ProjectionSettings, options: ProjectionEventLogOptions): EventLog {
  const { clientId, partitions, dir, logger } = options;
  return config.KAFKA_BROKERS
    ? new KafkaEventLog({ ...kafkaOptions(config, config.KAFKA_BROKERS, clientId), logger })
    : new MemoryEventLog({ partitions, dir, logger });
}
