/**
 * The catalog service's configuration: environment variables, overridden by `--port`,
 * `--metrics-port` and `--host`. The only module of this process that reads `process.env`.
 */
import { z } from 'zod';
import { listenFlags, loadConfig, setting, withFlags, type Settings } from '../../lib/config.ts';
import { serviceSettings } from '../settings.ts';

export const processName = 'catalog-service';

export const catalogSettings = z.object({
  /** The gRPC port. Default 4202; 0 picks a free one (see the `listening` event, listener `grpc`). */
  PORT: setting.port(4202),
  /** The HTTP port of /metrics and /healthz. Default 4203; 0 picks a free one (listener `metrics`). */
  METRICS_PORT: setting.port(4203),
  ...serviceSettings,
});

export type CatalogConfig = z.output<typeof catalogSettings>;

const catalogFlags = { ...listenFlags, 'metrics-port': 'METRICS_PORT' } as const;

/** Throws a `ConfigError` naming every bad setting. */
export function readCatalogConfig(argv: readonly string[] = process.argv.slice(2), env: Settings = process.env): CatalogConfig {
  return loadConfig(processName, catalogSettings, withFlags(processName, env, argv, catalogFlags));
}
