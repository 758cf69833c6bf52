/**
 * `node test/bench/federation/subgraphs-main.ts`: the benchmark's four subgraphs as one process
 * (subgraphs-server.ts), the reviews subgraph's subscriptions included, on HOST:PORT (default 127.0.0.1, a free port), announced to the bench
 * that started it (listener `http`). Stops on SIGTERM or when the bench goes away.
 */
import { announceListening, closeServer, listen, runMain } from '../../../lib/lifecycle.ts';
import { createLogger } from '../../../lib/logger.ts';
import { createBenchSubgraphsServer } from './subgraphs-server.ts';

runMain('bench-subgraphs', async () => {
  const log = createLogger('bench-subgraphs', 'warn');
  const host = process.env['HOST'] ?? '127.0.0.1';
  const { server, closeSockets } = createBenchSubgraphsServer();
  announceListening(log, 'http', host, await listen(server, Number(process.env['PORT'] ?? 0), host));
  return {
    stoppable: {
      stop: async () => {
        await closeSockets();
        await closeServer(server, 1_000);
      },
    },
    log,
  };
});
