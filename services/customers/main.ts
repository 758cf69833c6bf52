/**
 * The customers REST service as a process: `node services/customers/main.ts [--port N] [--host H]`.
 * Logs a `listening` event with listener `http`; stops gracefully on SIGINT/SIGTERM.
 */
import { createServer } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { announceListening, closeServer, listen, runMain } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { createCustomersApp } from './app.ts';
import { processName, readCustomersConfig } from './config.ts';
import { generateCustomers } from './data.ts';

runMain(processName, async () => {
  const config = readCustomersConfig();
  const log = createLogger(processName, config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { app } = createCustomersApp({
    customers: generateCustomers(),
    registry,
    responseDelayMs: config.RESPONSE_DELAY_MS,
    log,
  });
  const server = createServer(app);
  const port = await listen(server, config.PORT, config.HOST);
  announceListening(log, 'http', config.HOST, port);
  return { log, stoppable: { stop: () => closeServer(server) } };
});
