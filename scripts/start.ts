/**
 * `npm start`: the whole example system on this machine (scripts/system.ts). Only the gateway's port
 * is fixed (PORT, 4000 by default); everything else picks free ports. The playground URL is printed
 * when everything is up. Ctrl-C (SIGINT) or SIGTERM stops every process, gateway first.
 */
import { z } from 'zod';
import { ConfigError, loadConfig, setting } from '../lib/config.ts';
import { startExampleSystem, type ExampleSystem } from './system.ts';

const settings = z.object({
  /** The gateway's port; everything else picks free ports. */
  PORT: setting.port(4000),
  HOST: setting.host('127.0.0.1'),
  LOG_LEVEL: setting.logLevel(),
  /** `pretty` prints one short line per log event; `json` passes the processes' JSON logs through. */
  LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
});

let config: z.output<typeof settings>;
try {
  config = loadConfig('npm start', settings, process.env);
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(2);
}

const levels: Record<number, string> = { 20: 'DEBUG ', 30: '', 40: 'WARN ', 50: 'ERROR ', 60: 'FATAL ' };

function print(name: string, line: string): void {
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
async function stopAll(exitCode: number): Promise<never> {
  stopping = true;
  await system?.stop();
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  system = await startExampleSystem({
    host: config.HOST,
    gatewayPort: config.PORT,
    logLevel: config.LOG_LEVEL,
    onLine: print,
    onExit: (name, code) => {
      if (stopping) return;
      process.stderr.write(`${name} exited unexpectedly (code ${code}); stopping everything\n`);
      void stopAll(1);
    },
  });
  const base = system.gatewayUrl.replace('//0.0.0.0:', '//localhost:');
  process.stdout.write(`\nInterchange is up.\n  playground: ${base}/\n  GraphQL:    ${base}/graphql\nPress Ctrl-C to stop.\n\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll(1);
}
