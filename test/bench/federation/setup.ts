/**
 * The processes of the federation scenarios (federation.ts, subscriptions.ts, memory.ts): the
 * benchmark's subgraphs, their supergraph in a temporary directory, Interchange's gateway and stock
 * `@apollo/gateway`, each a child process on 127.0.0.1 and a free port. Everything started here is
 * stopped by `cleanupFederationProcesses`, which every scenario calls on its way out (and the bench
 * on SIGINT).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, type Child } from '../../../lib/supervisor.ts';
import { log } from '../scenario.ts';
import { affinityOf, pin, type CpuPlan } from './pinning.ts';
import { composeBenchSupergraph } from './supergraph.ts';

/** Child log lines at warn or above (or naming an error) are shown, up to this many per set-up. */
const MAX_CHILD_LINES = 20;

const children: Child[] = [];
let dataDir: string | undefined;
let restoreAffinity: (() => Promise<void>) | undefined;

export async function cleanupFederationProcesses(): Promise<void> {
  await restoreAffinity?.().catch(() => {});
  restoreAffinity = undefined;
  for (const child of children.splice(0).reverse()) await child.stop(5_000).catch(() => {});
  if (dataDir) await rm(dataDir, { recursive: true, force: true }).catch(() => {});
  dataDir = undefined;
}

export interface FederationSetup {
  dataDir: string;
  subgraphs: Child;
  /** The subgraphs' server: `${subgraphsUrl}/<name>/graphql`, `/counts`, `/publish`, `/subscriptions`. */
  subgraphsUrl: string;
  supergraphFile: string;
  /** Starts a child process of this set-up (stopped by cleanupFederationProcesses). */
  start(name: string, entry: string, env: Record<string, string | undefined>): Promise<Child>;
  /** Child log lines shown or counted so far. */
  childLines(): number;
}

/** The subgraphs, and the supergraph composed with their URLs. */
export async function startFederationSetup(): Promise<FederationSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'interchange-bench-federation-'));
  dataDir = dir;
  let lines = 0;
  const onLine = (name: string) => (line: string) => {
    if (!/"level":([4-9]\d)/.test(line) && !/error/i.test(line)) return;
    if (++lines <= MAX_CHILD_LINES) log(`${name}: ${line.slice(0, 400)}`);
  };
  const start = async (name: string, entry: string, env: Record<string, string | undefined>) => {
    const child = await startChild({
      name,
      entry,
      env: { HOST: '127.0.0.1', PORT: '0', ...env },
      listeners: ['http'],
      onLine: onLine(name),
    });
    children.push(child);
    return child;
  };
  const subgraphs = await start('bench-subgraphs', 'test/bench/federation/subgraphs-main.ts', {});
  const subgraphsUrl = `http://127.0.0.1:${subgraphs.ports.http}`;
  const supergraphFile = join(dir, 'supergraph.graphql');
  await writeFile(supergraphFile, composeBenchSupergraph(subgraphsUrl));
  return { dataDir: dir, subgraphs, subgraphsUrl, supergraphFile, start, childLines: () => lines };
}

/**
 * Interchange's gateway on the set-up's supergraph, with what would get in a benchmark's way turned
 * off: the load comes from one client (rates and caps per client), the benchmark's query is deeper
 * than the operation limits allow, and no tokens are verified. `env` is laid over that.
 */
export function startInterchange(setup: FederationSetup, env: Record<string, string | undefined> = {}): Promise<Child> {
  return setup.start('interchange', 'gateway/src/main.ts', {
    OPS_PORT: '0',
    LOG_LEVEL: 'warn',
    SUPERGRAPH: setup.supergraphFile,
    SUPERGRAPH_WATCH: 'false',
    DATA_DIR: join(setup.dataDir, 'gateway'),
    IDENTITY_SECRET: randomBytes(32).toString('hex'),
    JWKS_URL: undefined,
    JWKS_FILE: undefined,
    JWT_ISSUER: undefined,
    JWT_AUDIENCE: undefined,
    RATE_LIMIT_PER_SECOND: '0',
    OPERATION_LIMITS: 'false',
    // Its readiness probes would be counted as subgraph requests.
    SUBGRAPH_PROBE_MS: String(24 * 3_600_000),
    ...env,
  });
}

/** Stock `@apollo/gateway` + `@apollo/server` on the set-up's supergraph (apollo-gateway-main.ts). */
export function startApolloGateway(setup: FederationSetup, env: Record<string, string | undefined> = {}): Promise<Child> {
  return setup.start('apollo-gateway', 'test/bench/federation/apollo-gateway-main.ts', { SUPERGRAPH: setup.supergraphFile, ...env });
}

/** The set-up's processes (but `underTest`) and this one on the cores the process under test does not get, until cleanup. */
export async function pinRest(cpus: CpuPlan, underTest: readonly Child[] = []): Promise<void> {
  const own = await affinityOf(process.pid);
  await pin(process.pid, cpus.rest);
  restoreAffinity = () => pin(process.pid, own);
  for (const child of children) if (!underTest.includes(child)) await pin(child.process.pid!, cpus.rest);
}
