/**
 * Settings every example service shares, and the command-line flags that override them. Each
 * service's own `config.ts` combines these with its ports and is the only module that reads
 * `process.env`.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, setting, type Settings } from '../lib/config.ts';

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

/** Command-line flag -> the setting it overrides. */
export type FlagMap = Readonly<Record<string, string>>;

export const serviceFlags = { port: 'PORT', host: 'HOST' } as const satisfies FlagMap;

/**
 * The environment with the given flags (`--port 0`, `--host=::1`) laid over it: a flag wins over
 * the variable it maps to. An unknown flag or a stray argument is a `ConfigError`.
 */
export function withFlags(processName: string, env: Settings, argv: readonly string[], flags: FlagMap): Settings {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(flags).map((flag) => [flag, { type: 'string' as const }]));
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    const known = Object.keys(flags).map((f) => `--${f}`).join(', ');
    throw new ConfigError(processName, [`command line: ${(err as Error).message} (known flags: ${known})`]);
  }
  const settings: Settings = { ...env };
  for (const [flag, name] of Object.entries(flags)) {
    const value = values[flag];
    if (typeof value === 'string') settings[name] = value;
  }
  return settings;
}
