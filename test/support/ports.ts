import { createServer, type AddressInfo } from 'node:net';

/** A port that is taken for as long as the test wants it and refuses every connection. */
export interface RefusingPort {
  port: number;
  /** Stops listening; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * "A port where nothing listens", without a race: a server on 127.0.0.1:0 that stays bound (so no
 * other process can take the port) and resets every connection at once. A client sees ECONNRESET
 * (or, when the reset beats the connect, ECONNREFUSED): the service is unavailable either way.
 */
export function refusingPort(): Promise<RefusingPort> {
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.resetAndDestroy();
  });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= new Promise<void>((resolve) => server.close(() => resolve())));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve({ port: (server.address() as AddressInfo).port, close });
    });
  });
}
