/**
 * Whether a port can be listened on right now, found out by listening on it for a moment: what
 * `npm start` checks before it starts anything, so a taken port is reported at once, by its name.
 */
import { createServer } from 'node:net';

/** Why nothing can listen on host:port now (its errno code: EADDRINUSE, EACCES, ...); undefined when something can. */
export function listenProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** The first port above `port` (and above 1023, which needs privileges) that can be listened on, among the next `tries`. */
export async function nextFreePort(host: string, port: number, tries = 20): Promise<number | undefined> {
  const first = Math.max(port + 1, 1024);
  for (let candidate = first; candidate < first + tries && candidate <= 65535; candidate++) {
    if ((await listenProblem(host, candidate)) === undefined) return candidate;
  }
  return undefined;
}
