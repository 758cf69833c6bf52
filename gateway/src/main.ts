/** `npm run gateway -- --supergraph FILE --port N`: the gateway on its own. */
import { runMain } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { readGatewayConfig } from './config.ts';
import { startGateway } from './server.ts';

runMain('gateway', async () => {
  const config = readGatewayConfig();
  const log = createLogger('gateway', config.LOG_LEVEL);
  return { stoppable: await startGateway(config, log), log };
});
