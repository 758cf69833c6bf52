/**
 * The catalog gRPC service as a process:
 * `node services/catalog/main.ts [--port N] [--metrics-port N] [--host H]`.
 * Logs `listening` events for listeners `grpc` and `metrics`; stops gracefully on SIGINT/SIGTERM.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { announceListening, closeServer, listen, runMain } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { createOpsServer } from '../http.ts';
import { processName, readCatalogConfig } from './config.ts';
import { generateProducts } from './data.ts';
import { bindInsecure, shutdownGracefully } from './grpc-server.ts';
import { createCatalogServer } from './server.ts';

runMain(processName, async () => {
  const config = readCatalogConfig();
  const log = createLogger(processName, config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { server } = createCatalogServer({
    products: generateProducts(),
    registry,
    responseDelayMs: config.RESPONSE_DELAY_MS,
    log,
  });
  const grpcPort = await bindInsecure(server, config.HOST, config.PORT);
  const ops = createOpsServer(registry);
  const metricsPort = await listen(ops, config.METRICS_PORT, config.HOST);
  announceListening(log, 'grpc', config.HOST, grpcPort);
  announceListening(log, 'metrics', config.HOST, metricsPort);
  return {
    log,
    stoppable: { stop: async () => void (await Promise.all([shutdownGracefully(server), closeServer(ops)])) },
  };
});
