/**
 * Settings every example service shares. Each
 * service's own `config.ts` combines these with its ports and is the only module that reads
 * `process.env`.
 */
import { z } from 'zod';
import { setting } from '../lib/config.ts';

export const serviceSettings = {
  /** The address to bind to. Default 127.0.0.1. */
  HOST: setting.host('127.0.0.1'),
  /** A pino level. Default info; `listening` events are logged at info. */
  LOG_LEVEL: setting.logLevel(),
  /**
   * Milliseconds to wait before answering every API call (never /healthz or /metrics), to make
   * the service slow on purpose in resilience demos and tests. Default 0, at most 60 000.
   */
  RESPONSE_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
} as const;
