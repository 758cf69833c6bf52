/** The Kafka settings of every process that uses the event log, and how they become client options. */
import { z } from 'zod';
import { setting } from '../config.ts';
import type { KafkaEventLogOptions } from './kafka.ts';

export const kafkaSettings = {
  /** Kafka bootstrap brokers, `host:port,...`. */
  KAFKA_BROKERS: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')).min(1, 'expected at least one host:port'))
    .optional(),
  /** How long a fetch waits for new records before answering empty, in ms (latency of a quiet topic). */
  KAFKA_MAX_WAIT_MS: setting.millis(500),
  /** Consumer group session timeout and heartbeat interval, in ms. */
  KAFKA_SESSION_TIMEOUT_MS: setting.millis(30_000),
  KAFKA_HEARTBEAT_INTERVAL_MS: setting.millis(3_000),
  KAFKA_CONNECTION_TIMEOUT_MS: setting.millis(1_000),
  KAFKA_REQUEST_TIMEOUT_MS: setting.millis(30_000),
};

type KafkaConfig = { [K in Exclude<keyof typeof kafkaSettings, 'KAFKA_BROKERS'>]: z.output<(typeof kafkaSettings)[K]> };

export function kafkaOptions(config: KafkaConfig, brokers: string[], clientId: string): KafkaEventLogOptions {
  return {
    brokers,
    clientId,
    maxWaitTimeMs: config.KAFKA_MAX_WAIT_MS,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    connectionTimeoutMs: config.KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeoutMs: config.KAFKA_REQUEST_TIMEOUT_MS,
  };
}
