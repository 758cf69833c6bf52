/**
 * The customers service's configuration: environment variables, overridden by `--port` and
 * `--host`. The only module of this process that reads `process.env`.
 */
import { z } from 'zod';
import { listenFlags, loadConfig, setting, withFlags, type Settings } from '../../lib/config.ts';
import { serviceSettings } from '../settings.ts';

export const processName = 'customers-service';

export const customersSettings = z.object({
  /** The HTTP port. Default 4201; 0 picks a free one (see the `listening` log event). */
  PORT: setting.port(4201),
  ...serviceSettings,
});

export type CustomersConfig = z.output<typeof customersSettings>;

/** Throws a `ConfigError` naming every bad setting. */
export function readCustomersConfig(argv: readonly string[] = process.argv.slice(2), env: Settings = process.env): CustomersConfig {
  return loadConfig(processName, customersSettings, withFlags(processName, env, argv, listenFlags));
}
