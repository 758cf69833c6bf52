/**
 * A TCP relay on 127.0.0.1:0 that forwards every connection to a target port the test can change:
 * what a load balancer in front of a subgraph does when the subgraph is replaced by a process that
 * listens elsewhere. Connections open when the target changes stay on the old one (and end with it);
 * new ones go to the new target. With no target (between a kill and the replacement), connections
 * are accepted and reset at once, so nothing can reach whatever else binds the freed port meanwhile.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface Relay {
  /** The port clients connect to; it never changes. */
  port: number;
  /** Sends new connections to `port` from now on; `undefined`: resets them. */
  retarget(port: number | undefined): void;
  /** Resets every connection relayed now (a lost link); new ones are relayed as before. */
  cut(): void;
  /** Stops listening and ends every relayed connection. */
  close(): Promise<void>;
}

export async function startRelay(targetPort?: number): Promise<Relay> {
  let target: number | undefined = targetPort;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    track(client);
    if (target === undefined) return client.resetAndDestroy();
    const upstream = connect({ host: '127.0.0.1', port: target });
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.resetAndDestroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    retarget: (port) => {
      target = port;
    },
    cut: () => {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
