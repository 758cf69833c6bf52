/**
 * The fulfillment service's configuration (the only module of this process that reads
 * `process.env`). It needs Kafka: with the embedded log it runs inside the orders subgraph instead.
 */
import { z } from 'zod';
import { loadConfig, setting, withFlags, type Settings } from '../../lib/config.ts';
import { kafkaSettings } from '../../lib/eventlog/config.ts';

export const processName = 'fulfillment-service';

export const fulfillmentSettings = z.object({
  ...kafkaSettings,
  /** Kafka bootstrap brokers, `host:port,...`: required here. */
  KAFKA_BROKERS: kafkaSettings.KAFKA_BROKERS.unwrap(),
  /** Delay before an order is paid, and before a paid order ships, in ms. */
  PAY_DELAY_MS: z.coerce.number().int().min(0).default(1_500),
  SHIP_DELAY_MS: z.coerce.number().int().min(0).default(3_000),
  GROUP_ID: z.string().min(1).default('fulfillment'),
  /** Port of /healthz and /metrics; 0 picks a free one. */
  METRICS_PORT: setting.port(4204),
  HOST: setting.host('127.0.0.1'),
  LOG_LEVEL: setting.logLevel(),
});

export type FulfillmentConfig = z.output<typeof fulfillmentSettings>;

export function readFulfillmentConfig(argv: readonly string[] = process.argv.slice(2), env: Settings = process.env): FulfillmentConfig {
  return loadConfig(processName, fulfillmentSettings, withFlags(processName, env, argv, { 'metrics-port': 'METRICS_PORT', host: 'HOST' }));
}
