/**
 * The example system as processes, as the registry (schema/subgraphs.yaml, scripts/registry.ts)
 * lists them: its services first, then its subgraphs wired to them, then the gateway wired to the
 * subgraphs, every one on a free port except the gateway's. Without Kafka brokers the orders
 * subgraph uses the embedded event log and runs the fulfillment service in its own process; with
 * them, fulfillment is a process of its own. `npm start` and the integration tests both start it
 * from here.
 *
 * The orders subgraph keeps its data (snapshots; with the embedded log, the log itself) in
 * `dataDir`; without one (tests), in a temporary directory of the system's own, removed by `stop`.
 * The development key set (scripts/dev-auth.ts) lives there too, in `auth/`: the gateway verifies
 * tokens with its JWKS, and the gateway and every subgraph share its identity secret.
 *
 * When a process fails while the system is starting (it exits before it listens, does not listen in
 * time, or exits after it listened while the others are still starting), every process is stopped
 * and the start rejects with a `SystemStartError` naming the process that failed, the first one
 * when several did.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeTextAtomically } from '../lib/atomic-file.ts';
import { ChildExitedError, startChild, type Child, type ChildSpec } from '../lib/supervisor.ts';
import { devAuth, type TokenClaims } from './dev-auth.ts';
import { composeRegistry } from './composition.ts';
import { removedProcesses, watchFiles } from './live-registry.ts';
import {
  readRegistry,
  registryPath,
  resolveSettings,
  runsWith,
  type ProcessEntry,
  type SubgraphRegistry,
  type SystemLocations,
} from './registry.ts';

export interface SystemOptions {
  host: string;
  /** The gateway's port; 0 picks a free one. */
  gatewayPort: number;
  logLevel: string;
  /** Kafka bootstrap brokers (`host:port,...`); unset: the embedded event log. */
  kafkaBrokers?: string;
  /**
   * The orders subgraph's DATA_DIR (kept after `stop`: `npm start`, or a test that restarts a system
   * on the same data). Unset: a new temporary directory, removed by `stop`.
   */
  dataDir?: string;
  /** Extra environment per process name (e.g. a shorter timeout for one subgraph). */
  env?: Partial<Record<ProcessName, Record<string, string>>>;
  /** Who the playground's first query runs as: a token for these claims opens in its Headers tab. */
  playgroundToken?: TokenClaims;
  onLine?: (name: ProcessName, line: string) => void;
  /**
   * Called when a process of the started system exits by itself (a crash), not when `stop` or a
   * failed start stopped it. While the system is starting, a crash fails the start instead.
   */
  onExit?: (name: ProcessName, code: number | null) => void;
  /**
   * The URL the gateway is given for a subgraph, from the one the subgraph listens on; by default
   * that one itself. A test puts a relay of its own in between to replace a subgraph process with
   * one listening elsewhere, as a load balancer would.
   */
  gatewayRoute?: (subgraph: SubgraphName, url: string) => string;
  /** The registry of subgraphs to start. @default schema/subgraphs.yaml */
  registry?: string;
  /**
   * The gateway's supergraph file, served with SUBGRAPH_URLS pointing at the processes started.
   * Unset: the registry is composed with where its subgraphs run into `<dataDir>/gateway/supergraph.graphql`.
   */
  supergraph?: string;
  /**
   * Watch the registry and its SDLs (npm start): a new entry is started, a removed one stopped, and
   * the registry composed again into the gateway's supergraph file, which the gateway reloads.
   */
  watchRegistry?: boolean;
  /**
   * Subgraphs that run elsewhere (name -> GraphQL URL): they are not started, and the gateway
   * routes to these URLs (npm start's SUBGRAPH_URLS).
   */
  subgraphUrls?: Record<string, string>;
}

/** A subgraph of the registry (schema/subgraphs.yaml). */
export type SubgraphName = string;

/** The processes that serve GraphQL on the shared host (lib/graphql-http.ts), each with an ops listener. */
export type GraphQLProcessName = `${string}-subgraph` | 'gateway';

/** A process of the registry (a service, `<subgraph>-subgraph`) or `gateway`. */
export type ProcessName = string;

/** A process failed while the system was starting; every process has been stopped. */
export class SystemStartError extends Error {
  readonly processName: ProcessName;
  /** Why, on one line: the process's own last words when it left any. */
  readonly reason: string;

  constructor(processName: ProcessName, reason: string, options?: ErrorOptions) {
    super(`${processName} failed to start: ${reason}`, options);
    this.processName = processName;
    this.reason = reason;
    this.name = 'SystemStartError';
  }
}

export interface RestartOptions {
  /** How the running process is ended. @default 'SIGKILL' (a crash, no graceful shutdown) */
  signal?: NodeJS.Signals;
  /** How long it stays down before it is started again, in ms. @default 0 */
  downMs?: number;
}

export interface ExampleSystem {
  processes: Map<ProcessName, Child>;
  gatewayUrl: string;
  /**
   * `http://host:port` of a GraphQL process's ops listener (gateway and subgraphs: `/metrics` and
   * the detailed `/readyz`), for the process running now (a restart picks a new port).
   */
  opsUrl(name: GraphQLProcessName): string;
  /**
   * Ends one process (SIGKILL by default) and starts it again with the same settings, its `http`
   * listener on the port it had, so the gateway and clients find it where it was. Resolves with the
   * new child once it listens (it replaces the old one in `processes`); rejects with a
   * `SystemStartError` when it does not come back (the port was taken meanwhile, say). `onExit` is
   * not called for the process ended on purpose.
   */
  restart(name: ProcessName, options?: RestartOptions): Promise<Child>;
  /** The orders subgraph's DATA_DIR. */
  dataDir: string;
  /** A token (JWT) the system's gateway accepts, for the customer and scopes asked for. */
  token(claims?: TokenClaims): Promise<string>;
  /** The IDENTITY_SECRET of the gateway and the subgraphs, for tests that call a subgraph directly. */
  identitySecret: string;
  /** The gateway's identity settings (IDENTITY_SECRET, JWKS_FILE, JWT_ISSUER, JWT_AUDIENCE), for another gateway on this system. */
  gatewayIdentityEnv: Record<string, string>;
  /** Stops every process, the gateway first. */
  stop(): Promise<void>;
}

export async function startExampleSystem(options: SystemOptions): Promise<ExampleSystem> {
  const processes = new Map<ProcessName, Child>();
  let starting = true;
  let stopping = false;
  /** What went wrong while starting, in the order it happened. */
  const failures: SystemStartError[] = [];
  /** How each process was started, for `restart`. */
  const specs = new Map<ProcessName, StartSpec>();
  /** Processes ended on purpose by `restart`: their exit is no crash. */
  const retired = new WeakSet<Child>();
  const temporaryDir = options.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'interchange-data-')) : undefined;
  const dataDir = options.dataDir ?? temporaryDir!;
  const auth = await devAuth(dataDir);
  const identity = { IDENTITY_SECRET: auth.identitySecret };
  const gatewayIdentityEnv = { ...identity, JWKS_FILE: auth.jwksFile, JWT_ISSUER: auth.issuer, JWT_AUDIENCE: auth.audience };
  let unwatch: () => Promise<void> = () => Promise.resolve();
  const stop = async () => {
    stopping = true;
    await unwatch();
    for (const child of [...processes.values()].reverse()) await child.stop();
    if (temporaryDir) await rm(temporaryDir, { recursive: true, force: true });
  };
  const start = async (name: ProcessName, spec: StartSpec, port?: number) => {
    specs.set(name, spec);
    let child: Child;
    try {
      child = await startChild({
        ...spec,
        name,
        env: {
          HOST: options.host,
          LOG_LEVEL: options.logLevel,
          PORT: '0',
          OPS_PORT: '0',
          ...spec.env,
          ...options.env?.[name],
          ...(port !== undefined && { PORT: String(port) }),
        },
        onLine: (line) => options.onLine?.(name, line),
      });
    } catch (err) {
      const failure = new SystemStartError(name, reasonOf(name, err), { cause: err });
      failures.push(failure);
      throw failure;
    }
    processes.set(name, child);
    void child.exited.then((code) => {
      if (stopping || retired.has(child)) return;
      if (!starting) return options.onExit?.(name, code);
      failures.push(
        new SystemStartError(
          name,
          `exited (${code === null ? 'killed' : `code ${code}`}) after it was listening, while the others were starting`,
        ),
      );
    });
    return child;
  };
  const restart = async (name: ProcessName, { signal = 'SIGKILL', downMs = 0 }: RestartOptions = {}) => {
    const child = processes.get(name);
    const spec = specs.get(name);
    if (!child || !spec) throw new Error(`no process named ${name} in this system`);
    if (stopping) throw new Error(`the system is stopping; cannot restart ${name}`);
    retired.add(child);
    child.process.kill(signal);
    await child.exited;
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
    return start(name, spec, child.ports['http']);
  };
  /**
   * Starts processes side by side and waits for every one of them to listen or fail, so that none
   * is still starting (and missed by `stop`) when the start is abandoned.
   */
  const together = async <T extends readonly unknown[] | []>(starts: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> => {
    await Promise.allSettled(starts);
    if (failures[0]) throw failures[0];
    return Promise.all(starts);
  };
  const url = (child: Child, listener: string) => `http://${options.host}:${child.ports[listener]}`;
  const route = options.gatewayRoute ?? ((_subgraph: SubgraphName, subgraphUrl: string) => subgraphUrl);

  try {
    const registryFile = options.registry ?? registryPath;
    let registry = await readRegistry(registryFile);
    const kafka = options.kafkaBrokers !== undefined;
    const locations: SystemLocations = {
      address: (name, listener) => `${options.host}:${processes.get(name)!.ports[listener]}`,
      KAFKA_BROKERS: options.kafkaBrokers,
      DATA_DIR: dataDir,
    };
    /** A registry process with its listeners on free ports and its settings resolved. */
    const startEntry = (entry: ProcessEntry, extra: Record<string, string> = {}, port?: number) =>
      start(
        entry.name,
        {
          // Relative to the registry's project root (this project, or a scratch copy a test runs).
          entry: resolve(registry.root, entry.entry),
          env: {
            ...Object.fromEntries(Object.values(entry.listeners).map((setting) => [setting, '0'])),
            ...resolveSettings(entry, locations),
            ...extra,
          },
          listeners: Object.keys(entry.listeners),
        },
        port,
      );
    const external = options.subgraphUrls ?? {};
    const unknown = Object.keys(external).filter((name) => !registry.subgraphs.some((s) => s.name === name));
    if (unknown.length > 0) {
      throw new Error(
        `SUBGRAPH_URLS names ${unknown.join(', ')}, not in ${registry.path} (it has ${registry.subgraphs.map((s) => s.name).join(', ')})`,
      );
    }
    /** Where the gateway reaches each subgraph this system started. */
    const routes = new Map<string, string>();
    /** Starts the services and subgraphs of the registry that are not running yet (a subgraph without an entry point runs elsewhere, at its URL). */
    const startMissing = (of: SubgraphRegistry, run: <T extends readonly unknown[]>(starts: T) => Promise<unknown>) => ({
      services: () => run(of.services.filter((s) => runsWith(s, kafka) && !processes.has(s.name)).map((s) => startEntry(s))),
      subgraphs: () =>
        run(
          of.subgraphs
            .filter((s) => s.process && external[s.name] === undefined && !processes.has(s.process.name))
            .map(async (s) => routes.set(s.name, route(s.name, `${url(await startEntry(s.process!, identity), 'http')}/graphql`))),
        ),
    });
    const urlsOf = (of: SubgraphRegistry) =>
      Object.fromEntries(of.subgraphs.map((s) => [s.name, external[s.name] ?? routes.get(s.name) ?? s.url]));
    const missing = startMissing(registry, together);
    await missing.services();
    await missing.subgraphs();
    // The gateway serves the registry composed with where its subgraphs run now (unless given a supergraph file).
    const supergraphFile = options.supergraph ?? join(dataDir, 'gateway', 'supergraph.graphql');
    /** Composes the registry with where its subgraphs run now; `write` serves it (the gateway reloads it). */
    const compose = async (of: SubgraphRegistry): Promise<{ errors: string[]; write: () => Promise<void> }> => {
      const result = await composeRegistry(of, { urls: urlsOf(of) });
      if (!result.ok) return { errors: result.errors, write: () => Promise.resolve() };
      return { errors: [], write: () => writeTextAtomically(supergraphFile, result.supergraphSdl) };
    };
    if (options.supergraph === undefined) {
      const { errors, write } = await compose(registry);
      if (errors.length > 0) throw new Error(`composition failed:\n  - ${errors.join('\n  - ')}`);
      await write();
    }
    const [gateway] = await together([
      start('gateway', {
        entry: 'gateway/src/main.ts',
        env: {
          PORT: String(options.gatewayPort),
          // Its usage record (gateway-usage.json), beside the orders subgraph's data.
          DATA_DIR: dataDir,
          ...gatewayIdentityEnv,
          ...(options.playgroundToken && { PLAYGROUND_TOKEN: await auth.token(options.playgroundToken) }),
          SUPERGRAPH: supergraphFile,
          ...(options.supergraph !== undefined && {
            SUBGRAPH_URLS: Object.entries(urlsOf(registry))
              .map(([name, subgraphUrl]) => `${name}=${subgraphUrl}`)
              .join(','),
          }),
        },
        listeners: ['http', 'ops'],
      }),
    ]);
    if (options.watchRegistry && options.supergraph === undefined) {
      const say = (line: string) => options.onLine?.('registry', line);
      let refreshing = Promise.resolve();
      /** The registry or an SDL changed: start what is new, stop what is gone, compose again (the gateway reloads). */
      const refresh = async () => {
        if (stopping) return;
        let next: SubgraphRegistry;
        try {
          next = await readRegistry(registryFile);
        } catch (err) {
          return say(err instanceof Error ? err.message : String(err));
        }
        live.follow(watched(next));
        const settle = async <T extends readonly unknown[]>(starts: T) => {
          for (const outcome of await Promise.allSettled(starts))
            if (outcome.status === 'rejected') say(String((outcome.reason as Error).message));
          failures.length = 0;
        };
        await startMissing(next, settle).services();
        if (stopping) return;
        await startMissing(next, settle).subgraphs();
        if (stopping) return;
        // Subgraphs and services alike: what left the registry stops.
        const removed = removedProcesses(registry, next);
        for (const gone of registry.subgraphs) if (gone.process && removed.includes(gone.process.name)) routes.delete(gone.name);
        for (const name of removed) {
          const child = processes.get(name);
          if (!child) continue;
          retired.add(child);
          processes.delete(name);
          await child.stop();
        }
        registry = next;
        const { errors, write } = await compose(next);
        if (errors.length > 0) return say(`composition failed (the gateway goes on with what it had):\n  - ${errors.join('\n  - ')}`);
        // A running subgraph reads its SDL when it starts: one whose SDL, entry point or settings
        // changed starts again, on its port, before the gateway is given the new supergraph.
        for (const subgraph of next.subgraphs) {
          const child = subgraph.process && processes.get(subgraph.process.name);
          if (!child || !subgraph.process || stopping) continue;
          const now = await fingerprint(subgraph);
          const before = fingerprints.get(subgraph.name);
          fingerprints.set(subgraph.name, now);
          if (before === undefined || before === now) continue;
          retired.add(child);
          await child.stop();
          await settle([startEntry(subgraph.process, identity, child.ports['http'])]);
          say(`restarted ${subgraph.process.name}: its SDL or settings changed`);
        }
        if (stopping) return;
        await write();
        say(`composed ${next.subgraphs.map((s) => s.name).join(', ')}`);
      };
      /** What a running subgraph was started with: its SDL, entry point and settings. */
      const fingerprint = async (subgraph: SubgraphRegistry['subgraphs'][number]) =>
        JSON.stringify([await readFile(subgraph.schemaPath, 'utf8').catch(() => ''), subgraph.process?.entry, subgraph.env]);
      const fingerprints = new Map<string, string>();
      for (const subgraph of registry.subgraphs) if (subgraph.process) fingerprints.set(subgraph.name, await fingerprint(subgraph));
      const refreshSafely = () =>
        refresh().catch((err: unknown) => say(`could not apply the registry: ${err instanceof Error ? err.message : String(err)}`));
      const live = watchFiles(() => {
        refreshing = refreshing.then(refreshSafely);
      });
      live.follow(watched(registry));
      // Stopping waits for a refresh in progress, so that nothing it starts outlives the system.
      unwatch = async () => {
        live.stop();
        await refreshing;
      };
    }
    starting = false;
    const opsUrl = (name: GraphQLProcessName) => {
      const child = processes.get(name);
      if (!child) throw new Error(`no process named ${name} in this system`);
      return url(child, 'ops');
    };
    return {
      processes,
      gatewayUrl: url(gateway, 'http'),
      opsUrl,
      dataDir,
      restart,
      stop,
      token: (claims) => auth.token(claims),
      identitySecret: auth.identitySecret,
      gatewayIdentityEnv,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

type StartSpec = Omit<ChildSpec<string>, 'name' | 'onLine'>;

/** The files whose change the development loop acts on: the registry and the SDLs it names. */
const watched = (registry: SubgraphRegistry) => [registry.path, ...registry.subgraphs.map((s) => s.schemaPath)];

/** One line on why a process did not come up. */
function reasonOf(name: ProcessName, err: unknown): string {
  if (err instanceof ChildExitedError) {
    const exit = err.signal ? `killed by ${err.signal}` : `exit code ${err.code}`;
    const words = oneLine(name, err.stderr);
    return words ? `${words} (${exit})` : `exited before it was listening (${exit})`;
  }
  // startChild's own errors: "<name> did not announce http within 20000 ms; output: ...", "<name> could not be started: ENOENT".
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  return first.replace(`${name} `, '').replace(/;? ?output:$/, '');
}

/**
 * What a process said on stderr, on one line: without stack frames, Node's warnings and version
 * banner, or its own name; list items (`  - PORT: ...`) joined with `; `.
 */
function oneLine(name: ProcessName, stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^at /.test(l) && !/^Node\.js v\d/.test(l) && !/^\(node:\d+\)/.test(l) && !/^\(Use `node --trace-/.test(l));
  let text = '';
  for (const [i, line] of lines.entries()) {
    const item = line.startsWith('- ');
    text += (i === 0 ? '' : item && lines[i - 1]!.startsWith('- ') ? '; ' : ' ') + (item ? line.slice(2) : line);
  }
  text = text.replace(new RegExp(`^${name}: `), '').replace(/^failed to start: /, '');
  return text.length > 400 ? `${text.slice(0, 399)}…` : text;
}
