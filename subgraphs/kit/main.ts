/**
 * The entry point shape every subgraph's main.ts uses: read and validate its config (the only place
 * a subgraph process reads the environment), build the module, serve it, stop on a signal.
 */
import type { BaseContext } from '@apollo/server';
import type { z } from 'zod';
import { listenFlags, loadConfig, withFlags } from '../../lib/config.ts';
import { edgeOptions } from '../../lib/edge.ts';
import { runMain } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/logger.ts';
import type { BaseSubgraphConfig } from './config.ts';
import { startSubgraph, type SubgraphModule } from './subgraph.ts';

export function runSubgraphMain<S extends z.ZodType<BaseSubgraphConfig>, Ctx extends BaseContext>(
  name: string,
  schema: S,
  build: (config: z.output<S>, log: Logger) => SubgraphModule<Ctx>,
): void {
  runMain(`${name}-subgraph`, async () => {
    const processName = `${name}-subgraph`;
    const config = loadConfig(processName, schema, withFlags(processName, process.env, process.argv.slice(2), listenFlags));
    const log = createLogger(`${name}-subgraph`, config.LOG_LEVEL);
    const module = build(config, log);
    const host = await startSubgraph(module, {
      host: config.HOST,
      port: config.PORT,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      identity: { secret: config.IDENTITY_SECRET, maxAgeMs: config.IDENTITY_MAX_AGE_MS },
      edge: edgeOptions(config),
      log,
    });
    return { stoppable: host, log };
  });
}
