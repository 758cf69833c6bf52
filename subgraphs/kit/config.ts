/**
 * The settings every subgraph process has. A subgraph adds its own (where its backend is) with
 * `subgraphConfig(extra)`.
 */
import { z } from 'zod';
import { identityMaxAge, identitySecret } from '../../lib/auth/settings.ts';
import { setting } from '../../lib/config.ts';
import { edgeSettings } from '../../lib/edge.ts';
import type { ResilienceOptions } from './resilience.ts';

export const baseSubgraphSettings = {
  /** Port for the subgraph's HTTP endpoint; 0 picks a free one. */
  PORT: setting.port(0),
  HOST: setting.host('127.0.0.1'),
  LOG_LEVEL: setting.logLevel(),
  /** Largest GraphQL request body, in bytes. */
  BODY_LIMIT_BYTES: setting.count(1_000_000),
  /** Per-attempt timeout (REST) or deadline (gRPC) for backend calls, in ms. */
  UPSTREAM_TIMEOUT_MS: setting.millis(2_000),
  /** Extra attempts for failed idempotent backend reads. */
  UPSTREAM_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  /** Backend calls in flight at once, and how many may wait for a slot. */
  UPSTREAM_MAX_CONCURRENT: setting.count(64),
  UPSTREAM_MAX_QUEUED: setting.count(1_000),
  /** Consecutive backend failures that open the circuit breaker, and how long it stays open. */
  UPSTREAM_BREAKER_THRESHOLD: setting.count(5),
  UPSTREAM_BREAKER_COOLDOWN_MS: setting.millis(5_000),
  /** The secret the gateway signs the caller's identity with (the gateway's IDENTITY_SECRET). */
  IDENTITY_SECRET: identitySecret,
  /** How old a signed identity may be when it arrives, in ms. */
  IDENTITY_MAX_AGE_MS: identityMaxAge,
  ...edgeSettings,
};

export function subgraphConfig<E extends z.ZodRawShape>(extra: E) {
  return z.object({ ...baseSubgraphSettings, ...extra });
}

export type BaseSubgraphConfig = z.output<z.ZodObject<typeof baseSubgraphSettings>>;

export function resilienceFrom(config: BaseSubgraphConfig, upstream: string): ResilienceOptions {
  return {
    upstream,
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    retries: config.UPSTREAM_RETRIES,
    maxConcurrent: config.UPSTREAM_MAX_CONCURRENT,
    maxQueued: config.UPSTREAM_MAX_QUEUED,
    breakerThreshold: config.UPSTREAM_BREAKER_THRESHOLD,
    breakerCooldownMs: config.UPSTREAM_BREAKER_COOLDOWN_MS,
  };
}
