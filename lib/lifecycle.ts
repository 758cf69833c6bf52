/**
 * Process lifecycle: start, announce where we listen, and stop gracefully on SIGINT/SIGTERM.
 *
 * Tests and the `npm start` orchestrator start processes on port 0 and learn the real port from a
 * `listening` message over the IPC channel (and the log), so no fixed port is ever needed.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from './config.ts';
import type { Logger } from './logger.ts';

/** Something that can be stopped; `stop` must be safe to call more than once. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** The event that tells a parent process where a listener is. */
export const LISTENING_EVENT = 'listening';

export interface ListeningMessage {
  event: typeof LISTENING_EVENT;
  listener: string;
  host: string;
  port: number;
}

/**
 * Logs where a listener is and, when a supervisor started this process with an IPC channel
 * (lib/supervisor.ts), tells it too, whatever the log level.
 */
export function announceListening(log: Logger, listener: string, host: string, port: number): void {
  const message: ListeningMessage = { event: LISTENING_EVENT, listener, host, port };
  log.info(message, `${listener} listening on ${host}:${port}`);
  if (process.connected) process.send?.(message);
}

/** Listens and resolves with the bound port (useful when asked for port 0). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Closes an HTTP server: stops accepting, lets in-flight requests finish, and drops each keep-alive
 * connection as soon as it is idle (a connection busy when closing began would otherwise stay open
 * until the client's keep-alive timeout). After `graceMs` every connection is dropped.
 */
export function closeServer(server: Server, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(idleSweep);
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Runs a process's main function: a configuration error is printed plainly and exits 2; any other
 * start-up failure exits 1. On SIGTERM, or SIGINT when no supervisor started it, or when its supervisor
 * goes away, the started component is stopped (bounded by
 * `stopTimeoutMs`) and the process exits 0.
 */
export function runMain(name: string, main: () => Promise<{ stoppable: Stoppable; log: Logger }>, stopTimeoutMs = 10_000): void {
  // Started by a supervisor with an IPC channel: stop when it goes away, so nothing is left behind,
  // even when it goes away while this process is still starting.
  let supervisorGone = false;
  let onSupervisorGone = (): void => process.exit(1);
  if (process.send) {
    process.once('disconnect', () => {
      supervisorGone = true;
      onSupervisorGone();
    });
    if (!process.connected) process.exit(1);
    // Ctrl-C is the supervisor's to handle: the terminal sends SIGINT to every process at once, and
    // the supervisor stops them in order, gateway first, with SIGTERM.
    process.on('SIGINT', () => undefined);
  }
  main().then(
    ({ stoppable, log }) => {
      let stopping = false;
      const shutdown = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down');
        const force = setTimeout(() => {
          log.error('graceful shutdown timed out; exiting');
          process.exit(1);
        }, stopTimeoutMs);
        force.unref();
        stoppable.stop().then(
          () => {
            log.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ err }, 'error while stopping');
            process.exit(1);
          },
        );
      };
      if (!process.send) process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
      onSupervisorGone = () => shutdown('SIGTERM');
      if (supervisorGone) onSupervisorGone();
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${name}: ${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`${name}: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
