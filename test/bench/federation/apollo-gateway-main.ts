/**
 * `node test/bench/federation/apollo-gateway-main.ts`: the benchmark's baseline, stock
 * `@apollo/gateway` + `@apollo/server` (standalone) with their defaults, serving the supergraph in
 * the file SUPERGRAPH (subgraph URLs from the supergraph) at http://HOST:PORT/ (default 127.0.0.1,
 * a free port), announced to the bench that started it (listener `http`). Only the vendor's usage
 * telemetry is turned off. Stops on SIGTERM or when the bench goes away.
 */
import { readFile } from 'node:fs/promises';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { announceListening, runMain } from '../../../lib/lifecycle.ts';
import { createLogger } from '../../../lib/logger.ts';

runMain('bench-apollo-gateway', async () => {
  const log = createLogger('bench-apollo-gateway', 'warn');
  process.env['APOLLO_TELEMETRY_DISABLED'] = '1';
  const file = process.env['SUPERGRAPH'];
  if (!file) throw new Error('SUPERGRAPH: required, the supergraph file to serve');
  const host = process.env['HOST'] ?? '127.0.0.1';
  const gateway = new ApolloGateway({ supergraphSdl: await readFile(file, 'utf8') });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { host, port: Number(process.env['PORT'] ?? 0) } });
  announceListening(log, 'http', host, Number(new URL(url).port));
  return { stoppable: { stop: () => server.stop() }, log };
});
