/**
 * One typed, validated configuration per process.
 *
 * Each process declares a zod schema whose keys are the setting names a user writes (environment
 * variable names; command-line flags are mapped onto the same names). `loadConfig` validates all
 * settings at once and throws a `ConfigError` that lists every bad setting by name, so a process
 * refuses to start with a message a person can act on.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

export class ConfigError extends Error {
  readonly processName: string;
  readonly problems: string[];

  constructor(processName: string, problems: string[]) {
    super(`invalid configuration for ${processName}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.processName = processName;
    this.problems = problems;
    this.name = 'ConfigError';
  }
}

export type Settings = Record<string, string | undefined>;

export function loadConfig<S extends z.ZodType>(processName: string, schema: S, settings: Settings): z.output<S> {
  const result = schema.safeParse(settings);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.') || '(root)';
    const given = issue.path.length === 1 ? settings[String(issue.path[0])] : undefined;
    return given === undefined ? `${name}: ${issue.message}` : `${name}: ${issue.message} (got ${JSON.stringify(given)})`;
  });
  throw new ConfigError(processName, problems);
}

/** Reusable setting types: each parses the string form a user writes in the environment. */
export const setting = {
  /** A TCP port; 0 picks a free one. */
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  /** A host or address to bind to. */
  host: (fallback: string) => z.string().min(1).default(fallback),
  /** A positive whole number of milliseconds. */
  millis: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  /** A positive whole number. */
  count: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  /** An http(s) URL. */
  url: () => z.url({ protocol: /^https?$/ }),
  /** A directory path, made absolute (relative to the working directory). */
  directory: (fallback: string) =>
    z
      .string()
      .min(1)
      .default(fallback)
      .transform((path) => resolve(path)),
  /** `name=url,name=url`: where to reach subgraphs, overriding the URLs of the supergraph (or registry). */
  subgraphUrls: () =>
    z
      .string()
      .default('')
      .transform((text, ctx) => {
        const urls: Record<string, string> = {};
        for (const pair of text
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)) {
          const [name, url] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
          if (!pair.includes('=') || !name || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
            ctx.addIssue({ code: 'custom', message: `expected name=http(s)://url pairs separated by commas, got "${pair}"` });
            return z.NEVER;
          }
          urls[name] = url;
        }
        return urls;
      }),
  /** A pino log level. */
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** true/false, 1/0, yes/no. */
  flag: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
} as const;

/** Where processes keep their data by default: `.data/` in the project (git-ignored). */
export const DEFAULT_DATA_DIR = resolve(import.meta.dirname, '..', '.data');

/**
 * Command-line flag -> the setting it overrides. A repeatable flag (`--subgraph a=… --subgraph b=…`)
 * is appended, comma-separated, to the setting's value from the environment.
 */
export type FlagMap = Readonly<Record<string, string | { setting: string; repeatable: true }>>;

/** The flags every server process takes. */
export const listenFlags = { port: 'PORT', host: 'HOST' } as const satisfies FlagMap;

/**
 * The environment with the given flags (`--port 0`, `--host=::1`) laid over it: a flag wins over
 * the variable it maps to. An unknown flag or a stray argument is a `ConfigError`.
 */
export function withFlags(processName: string, env: Settings, argv: readonly string[], flags: FlagMap): Settings {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries(flags).map(([flag, target]) => [flag, { type: 'string' as const, multiple: typeof target !== 'string' }]),
    );
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    const known = Object.keys(flags)
      .map((f) => `--${f}`)
      .join(', ');
    throw new ConfigError(processName, [`command line: ${(err as Error).message} (known flags: ${known})`]);
  }
  const settings: Settings = { ...env };
  for (const [flag, target] of Object.entries(flags)) {
    const value = values[flag];
    if (typeof target === 'string') {
      if (typeof value === 'string') settings[target] = value;
    } else if (Array.isArray(value) && value.length > 0) {
      settings[target.setting] = [env[target.setting], ...value].filter(Boolean).join(',');
    }
  }
  return settings;
}
