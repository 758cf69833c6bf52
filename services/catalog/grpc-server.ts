/**
 * Binding and stopping a grpc-js server, as promises: what `listen`/`closeServer` in
 * lib/lifecycle.ts are for HTTP servers.
 */
import { ServerCredentials, type Server } from '@grpc/grpc-js';

/** Binds without TLS and resolves with the bound port (useful when asked for port 0). */
export function bindInsecure(server: Server, host: string, port: number): Promise<number> {
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/**
 * Stops accepting calls and lets the calls in flight finish; after `graceMs` cancels whatever is
 * still running. Safe to call more than once.
 */
export function shutdownGracefully(server: Server, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
