/**
 * The registry of subgraphs (schema/subgraphs.yaml): which subgraphs exist, where each one's SDL is,
 * the URL the composed supergraph routes to, and how each is started (its entry point and settings),
 * with the backend services they call. `npm start` (scripts/system.ts) starts what it lists,
 * composition composes its SDLs, and the tests derive their lists of subgraphs and processes from it.
 *
 * Settings may refer to the system: `${<process>.<listener>}` is `host:port` of another process's
 * listener (a free port under `npm start`; the service name and its port in docker-compose.yml);
 * `${KAFKA_BROKERS}` the system's Kafka brokers (a setting that refers to it is left out when the
 * system runs on the embedded log) and `${DATA_DIR}` its data directory.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';

export const schemaDir = resolve(import.meta.dirname, '../schema');
export const registryPath = resolve(schemaDir, 'subgraphs.yaml');

/** The listeners every subgraph has (lib/graphql-http.ts), and the settings that set their ports. */
export const SUBGRAPH_LISTENERS: Readonly<Record<string, string>> = { http: 'PORT', ops: 'OPS_PORT' };

/** The system-wide values a setting may refer to. */
export const SYSTEM_VARIABLES = ['KAFKA_BROKERS', 'DATA_DIR'] as const;
export type SystemVariable = (typeof SYSTEM_VARIABLES)[number];

const NAME = /^[a-z][a-z0-9-]*$/;
const REFERENCE = /\$\{([^}]*)\}/g;

const settingsShape = z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'setting names are UPPER_SNAKE_CASE'), z.string()).default({});
const entryShape = z.string().regex(/^[\w./-]+\.ts$/, 'a TypeScript file relative to the project root');

const registryShape = z.strictObject({
  services: z
    .array(
      z.strictObject({
        name: z.string().regex(NAME),
        /** The process's entry point, relative to the project root (the parent of the registry's folder). */
        entry: entryShape,
        /** Listener name -> the setting that sets its port (the process announces each one). */
        listeners: z.record(z.string().regex(/^[a-z]+$/), z.string()).refine((l) => Object.keys(l).length > 0, 'at least one listener'),
        env: settingsShape,
        /** Started only when the system runs on Kafka (`kafka`) or only on the embedded log (`embedded`). */
        only: z.enum(['kafka', 'embedded']).optional(),
      }),
    )
    .default([]),
  subgraphs: z
    .array(
      z.strictObject({
        name: z.string().regex(NAME),
        /** The SDL, relative to the registry's folder. */
        schema: z.string().min(1),
        /** Where the composed supergraph routes to it by default (the gateway's SUBGRAPH_URLS overrides it). */
        url: z.url({ protocol: /^https?$/ }),
        /** How the system starts it; none: it runs elsewhere, at `url`. */
        entry: entryShape.optional(),
        env: settingsShape,
      }),
    )
    .min(1),
});

type RegistryShape = z.output<typeof registryShape>;

/** A process of the system other than the gateway. */
export interface ProcessEntry {
  /** `<subgraph>-subgraph` for a subgraph. */
  name: string;
  entry: string;
  listeners: Readonly<Record<string, string>>;
  env: Readonly<Record<string, string>>;
  only?: 'kafka' | 'embedded' | undefined;
}

export interface SubgraphEntry {
  name: string;
  /** The SDL file, absolute. */
  schemaPath: string;
  /** As written in the registry (relative to its folder). */
  schema: string;
  url: string;
  /** Its settings (those of its process). */
  env: Readonly<Record<string, string>>;
  /** How the system starts it; undefined when it runs elsewhere (at `url`). */
  process?: ProcessEntry | undefined;
}

export interface SubgraphRegistry {
  path: string;
  /** The project root entry points are relative to: the parent of the registry's folder (schema/). */
  root: string;
  services: ProcessEntry[];
  subgraphs: SubgraphEntry[];
  /** Services, then the subgraphs the system starts. */
  processes: ProcessEntry[];
}

export class RegistryError extends Error {
  constructor(path: string, problems: string[]) {
    super(`${path} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RegistryError';
  }
}

export const subgraphProcessName = (subgraph: string) => `${subgraph}-subgraph`;

/** Reads and checks a registry; the error lists every problem with where it is. */
export async function readRegistry(path = registryPath): Promise<SubgraphRegistry> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RegistryError(path, [err instanceof Error ? err.message : String(err)]);
  }
  return parseRegistry(path, text);
}

/** Checks the text of a registry that is (or will be) at `path`; the error lists every problem. */
export function parseRegistry(path: string, text: string): SubgraphRegistry {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new RegistryError(path, [err instanceof Error ? err.message : String(err)]);
  }
  const parsed = registryShape.safeParse(raw);
  if (!parsed.success)
    throw new RegistryError(
      path,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  const registry = fromShape(path, parsed.data);
  const problems = check(registry);
  if (problems.length > 0) throw new RegistryError(path, problems);
  return registry;
}

function fromShape(path: string, data: RegistryShape): SubgraphRegistry {
  const services: ProcessEntry[] = data.services.map((s) => ({ ...s }));
  const subgraphs: SubgraphEntry[] = data.subgraphs.map((s) => ({
    name: s.name,
    schema: s.schema,
    schemaPath: resolve(dirname(path), s.schema),
    url: s.url,
    env: s.env,
    process:
      s.entry === undefined ? undefined : { name: subgraphProcessName(s.name), entry: s.entry, listeners: SUBGRAPH_LISTENERS, env: s.env },
  }));
  return {
    path,
    root: resolve(dirname(path), '..'),
    services,
    subgraphs,
    processes: [...services, ...subgraphs.flatMap((s) => (s.process ? [s.process] : []))],
  };
}

function check(registry: SubgraphRegistry): string[] {
  const problems: string[] = [];
  if (registry.services.some((p) => p.name === 'gateway')) problems.push("process gateway: the name is the gateway's own");
  for (const subgraph of registry.subgraphs) {
    if (!subgraph.process) {
      if (Object.keys(subgraph.env).length > 0)
        problems.push(`subgraph ${subgraph.name}: env without entry: settings of a subgraph that runs elsewhere are never used`);
    } else if (new URL(subgraph.url).port === '') {
      problems.push(
        `subgraph ${subgraph.name}: url ${subgraph.url} names no port: the one the subgraph listens on where the system runs it (Compose)`,
      );
    }
  }
  const seen = new Set<string>();
  for (const name of [...registry.subgraphs.map((s) => `subgraph ${s.name}`), ...registry.processes.map((p) => `process ${p.name}`)]) {
    if (seen.has(name)) problems.push(`${name} is listed twice`);
    seen.add(name);
  }
  // Services start first, side by side, then the subgraphs: a subgraph may refer to a service's
  // listeners, a service only to the system's variables.
  const services = new Map(registry.services.map((p) => [p.name, p]));
  for (const process of registry.processes) {
    const targets = registry.services.includes(process) ? new Map<string, ProcessEntry>() : services;
    for (const [setting, value] of Object.entries(process.env)) {
      for (const reference of references(value)) {
        const problem = referenceProblem(reference, targets, process.only);
        if (problem) problems.push(`${process.name}: ${setting}: \${${reference}} ${problem}`);
      }
    }
  }
  return problems;
}

function references(value: string): string[] {
  return [...value.matchAll(REFERENCE)].map((m) => m[1]!);
}

function referenceProblem(reference: string, processes: Map<string, ProcessEntry>, only: ProcessEntry['only']): string | undefined {
  if ((SYSTEM_VARIABLES as readonly string[]).includes(reference)) return undefined;
  const dot = reference.lastIndexOf('.');
  if (dot < 0) return `names nothing: use \${<process>.<listener>}, ${SYSTEM_VARIABLES.map((v) => `\${${v}}`).join(' or ')}`;
  const target = processes.get(reference.slice(0, dot));
  if (!target)
    return `names no service of the registry${processes.size > 0 ? ` (it has ${[...processes.keys()].join(', ')})` : ': a service refers only to system variables'}`;
  const listener = reference.slice(dot + 1);
  if (!(listener in target.listeners)) return `names no listener of ${target.name} (it has ${Object.keys(target.listeners).join(', ')})`;
  if (target.only !== undefined && target.only !== only)
    return `names ${target.name}, which runs only ${target.only === 'kafka' ? 'with Kafka' : 'on the embedded log'}`;
  return undefined;
}

/** Where the system's processes are, for resolving settings. */
export interface SystemLocations {
  /** `host:port` of a process's listener. */
  address(process: string, listener: string): string;
  KAFKA_BROKERS?: string | undefined;
  DATA_DIR: string;
}

/**
 * A process's settings with every reference resolved. A setting that refers to a system variable
 * the system does not have (`${KAFKA_BROKERS}` on the embedded log) is left out.
 */
export function resolveSettings(process: ProcessEntry, system: SystemLocations): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [setting, value] of Object.entries(process.env)) {
    let missing = false;
    const resolved = value.replace(REFERENCE, (_match, reference: string) => {
      if (reference === 'KAFKA_BROKERS' || reference === 'DATA_DIR') {
        const found = system[reference];
        if (found === undefined) missing = true;
        return found ?? '';
      }
      const dot = reference.lastIndexOf('.');
      return system.address(reference.slice(0, dot), reference.slice(dot + 1));
    });
    if (!missing) settings[setting] = resolved;
  }
  return settings;
}

/** The services a process refers to (they start before it). */
export function dependencies(process: ProcessEntry): string[] {
  const names = Object.values(process.env)
    .flatMap(references)
    .filter((r) => r.includes('.'))
    .map((r) => r.slice(0, r.lastIndexOf('.')));
  return [...new Set(names)];
}

/** Whether a process's settings use the system's Kafka brokers. */
export const usesKafka = (process: ProcessEntry) => Object.values(process.env).some((v) => v.includes('${KAFKA_BROKERS}'));

/** Whether a process runs on a system with (or without) Kafka. */
export const runsWith = (process: ProcessEntry, kafka: boolean) => process.only === undefined || (process.only === 'kafka') === kafka;
