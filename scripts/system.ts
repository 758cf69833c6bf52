/**
 * The example system as processes: the REST and gRPC services, the two subgraphs wired to them, and
 * the gateway wired to the subgraphs, every one on a free port except the gateway's. `npm start`
 * and the integration tests both start it from here.
 */
import { startChild, type Child, type ChildSpec } from '../lib/supervisor.ts';

export interface SystemOptions {
  host: string;
  /** The gateway's port; 0 picks a free one. */
  gatewayPort: number;
  logLevel: string;
  /** Extra environment per process name (e.g. a shorter timeout for one subgraph). */
  env?: Partial<Record<ProcessName, Record<string, string>>>;
  onLine?: (name: ProcessName, line: string) => void;
  /** Called when a process exits, whoever stopped it. */
  onExit?: (name: ProcessName, code: number | null) => void;
}

export type ProcessName = 'customers-service' | 'catalog-service' | 'customers-subgraph' | 'catalog-subgraph' | 'gateway';

export interface ExampleSystem {
  processes: Map<ProcessName, Child>;
  gatewayUrl: string;
  /** Stops every process, the gateway first. */
  stop(): Promise<void>;
}

export async function startExampleSystem(options: SystemOptions): Promise<ExampleSystem> {
  const processes = new Map<ProcessName, Child>();
  const stop = async () => {
    for (const child of [...processes.values()].reverse()) await child.stop();
  };
  const start = async (name: ProcessName, spec: Omit<ChildSpec<string>, 'name' | 'onLine'>) => {
    const child = await startChild({
      ...spec,
      name,
      env: { HOST: options.host, LOG_LEVEL: options.logLevel, PORT: '0', ...spec.env, ...options.env?.[name] },
      onLine: (line) => options.onLine?.(name, line),
    });
    processes.set(name, child);
    void child.exited.then((code) => options.onExit?.(name, code));
    return child;
  };
  const url = (child: Child, listener: string) => `http://${options.host}:${child.ports[listener]}`;

  try {
    const [customersService, catalogService] = await Promise.all([
      start('customers-service', { entry: 'services/customers/main.ts', listeners: ['http'] }),
      start('catalog-service', { entry: 'services/catalog/main.ts', env: { METRICS_PORT: '0' }, listeners: ['grpc', 'metrics'] }),
    ]);
    const [customers, catalog] = await Promise.all([
      start('customers-subgraph', {
        entry: 'subgraphs/customers/main.ts',
        env: { CUSTOMERS_SERVICE_URL: url(customersService, 'http') },
        listeners: ['http'],
      }),
      start('catalog-subgraph', {
        entry: 'subgraphs/catalog/main.ts',
        env: { CATALOG_SERVICE_ADDRESS: `${options.host}:${catalogService.ports['grpc']}` },
        listeners: ['http'],
      }),
    ]);
    const gateway = await start('gateway', {
      entry: 'gateway/src/main.ts',
      env: {
        PORT: String(options.gatewayPort),
        SUBGRAPH_URLS: `customers=${url(customers, 'http')}/graphql,catalog=${url(catalog, 'http')}/graphql`,
      },
      listeners: ['http'],
    });
    return { processes, gatewayUrl: url(gateway, 'http'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
