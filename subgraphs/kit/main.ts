/**
 * The entry point shape every subgraph's main.ts uses: read and validate its config (the only place
 * a subgraph process reads the environment), build the module, serve it, stop on a signal.
 */
import { parseArgs } from 'node:util';
import type { BaseContext } from '@apollo/server';
import type { z } from 'zod';
import { loadConfig } from '../../lib/config.ts';
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
    const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' } } });
    const config = loadConfig(`${name}-subgraph`, schema, {
      ...process.env,
      ...(values.port !== undefined && { PORT: values.port }),
      ...(values.host !== undefined && { HOST: values.host }),
    });
    const log = createLogger(`${name}-subgraph`, config.LOG_LEVEL);
    const module = build(config, log);
    const host = await startSubgraph(module, {
      host: config.HOST,
      port: config.PORT,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      log,
    });
    return { stoppable: host, log };
  });
}
