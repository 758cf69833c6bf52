/**
 * `npm start`: the whole example system on this machine (scripts/system.ts), as the registry
 * (schema/subgraphs.yaml) lists it. Only the gateway's port is fixed (PORT, 4000 by default);
 * everything else picks free ports. While it runs, it watches the registry and the SDLs: a new
 * subgraph is started, and the gateway reloads the composed supergraph without a restart. The playground URL is printed
 * when everything is up. Ctrl-C (SIGINT) or SIGTERM stops every process, gateway first.
 *
 * What went wrong is always the last line: a taken PORT is found before anything starts (exit 2);
 * when a process fails, everything is stopped first and then that process is named (exit 1).
 */
import { z } from 'zod';
import { ConfigError, DEFAULT_DATA_DIR, loadConfig, setting } from '../lib/config.ts';
import { Scope } from '../lib/auth/principal.ts';
import { listenProblem, nextFreePort } from './port-check.ts';
import { SystemStartError, startExampleSystem, type ExampleSystem } from './system.ts';

const settings = z.object({
  /** The gateway's port; everything else picks free ports. */
  PORT: setting.port(4000),
  HOST: setting.host('127.0.0.1'),
  LOG_LEVEL: setting.logLevel(),
  /** `pretty` prints one short line per log event; `json` passes the processes' JSON logs through. */
  LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
  /** Where the orders subgraph keeps its data (the embedded event log, snapshots); kept across runs. */
  DATA_DIR: setting.directory(DEFAULT_DATA_DIR),
  /**
   * Subgraphs that run elsewhere (`name=url,...`): npm start does not start them, and the gateway
   * routes to these URLs; every other subgraph of the registry is started here.
   */
  SUBGRAPH_URLS: setting.subgraphUrls(),
});

let config: z.output<typeof settings>;
try {
  config = loadConfig('npm start', settings, process.env);
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(2);
}

/** Says why the gateway cannot listen on HOST:PORT, if it cannot, before anything is started. PORT=0 always can. */
async function checkGatewayPort(host: string, port: number): Promise<string | undefined> {
  if (port === 0) return undefined;
  const problem = await listenProblem(host, port);
  if (problem === undefined) return undefined;
  const other = (await nextFreePort(host, port)) ?? 0;
  const choose = `choose another with PORT=${other} npm start${other === 0 ? ' (0: any free port)' : ''}`;
  if (problem === 'EADDRINUSE') return `port ${port} on ${host} is in use; ${choose}`;
  if (problem === 'EACCES') return `port ${port} on ${host} needs privileges to listen on (EACCES); ${choose}`;
  return `cannot listen on port ${port} on ${host} (${problem}); check HOST and PORT`;
}

const portProblem = await checkGatewayPort(config.HOST, config.PORT);
if (portProblem) {
  process.stderr.write(`npm start: ${portProblem}\n`);
  process.exit(2);
}

const levels: Record<number, string> = { 20: 'DEBUG ', 30: '', 40: 'WARN ', 50: 'ERROR ', 60: 'FATAL ' };

/** Set once the verdict is due: output of processes still stopping must not come after it. */
let quiet = false;

function print(name: string, line: string): void {
  if (quiet) return;
  if (config.LOG_FORMAT === 'json') return void process.stdout.write(`${line}\n`);
  try {
    const event = JSON.parse(line) as { level?: number; msg?: string };
    process.stdout.write(`${name.padEnd(19)}${levels[event.level ?? 30] ?? ''}${event.msg ?? ''}\n`);
  } catch {
    process.stdout.write(`${name.padEnd(19)}${line}\n`);
  }
}

let system: ExampleSystem | undefined;
let stopping = false;
/** Stops every process, then prints the verdict (if any) as the last line, and exits. */
async function stopAll(exitCode: number, verdict?: string): Promise<never> {
  stopping = true;
  await system?.stop();
  quiet = true;
  if (verdict) process.stderr.write(`npm start: ${verdict}\n`);
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
// Started with an IPC channel (as the tests do): stop everything when the parent goes away.
if (process.send) process.once('disconnect', () => void stopAll(0));

/** The playground's first query runs as this demo customer, who may also place orders. */
const DEMO_TOKEN = { customer: 'c1', scopes: [Scope.ORDERS_WRITE], expiresInSeconds: 7 * 86_400 };

try {
  system = await startExampleSystem({
    host: config.HOST,
    gatewayPort: config.PORT,
    logLevel: config.LOG_LEVEL,
    dataDir: config.DATA_DIR,
    subgraphUrls: config.SUBGRAPH_URLS,
    // A subgraph added to schema/subgraphs.yaml (or an SDL changed) is started and served while it runs.
    watchRegistry: true,
    // The development key set (created on first start) signs it: the playground opens with it.
    playgroundToken: DEMO_TOKEN,
    onLine: print,
    onExit: (name, code) => {
      if (stopping) return;
      void stopAll(1, `${name} exited unexpectedly (code ${code}); everything is stopped`);
    },
  });
  const base = system.gatewayUrl.replace('//0.0.0.0:', '//localhost:');
  process.stdout.write(
    `\nInterchange is up.\n  playground: ${base}/ (as demo customer c1; other tokens: npm run token -- --customer c3 --scopes orders:write)\n  GraphQL:    ${base}/graphql\n  ops:        ${system.opsUrl('gateway')}/metrics, /readyz (gateway)\n  data:       ${config.DATA_DIR}\nPress Ctrl-C to stop.\n\n`,
  );
} catch (err) {
  // startExampleSystem has stopped every process it started.
  await stopAll(
    1,
    err instanceof SystemStartError ? err.message : `could not start: ${String(err instanceof Error ? err.message : err).split('\n')[0]}`,
  );
}
