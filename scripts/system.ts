/**
 * The example system as processes: the REST and gRPC services, the customers, catalog and orders
 * subgraphs wired to them, and the gateway wired to the subgraphs, every one on a free port except
 * the gateway's. Without Kafka brokers the orders subgraph uses the embedded event log and runs the
 * fulfillment service in its own process; with them, fulfillment is a process of its own.
 * `npm start` and the integration tests both start it from here.
 */
import { startChild, type Child, type ChildSpec } from '../lib/supervisor.ts';

export interface SystemOptions {
  host: string;
  /** The gateway's port; 0 picks a free one. */
  gatewayPort: number;
  logLevel: string;
  /** Kafka bootstrap brokers (`host:port,...`); unset: the embedded event log. */
  kafkaBrokers?: string;
  /** Extra environment per process name (e.g. a shorter timeout for one subgraph). */
  env?: Partial<Record<ProcessName, Record<string, string>>>;
  onLine?: (name: ProcessName, line: string) => void;
  /** Called when a process exits, whoever stopped it. */
  onExit?: (name: ProcessName, code: number | null) => void;
}

export type ProcessName =
  | 'customers-service'
  | 'catalog-service'
  | 'fulfillment-service'
  | 'customers-subgraph'
  | 'catalog-subgraph'
  | 'orders-subgraph'
  | 'gateway';

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
    const kafka = options.kafkaBrokers ? { KAFKA_BROKERS: options.kafkaBrokers } : undefined;
    const backends = {
      CUSTOMERS_SERVICE_URL: url(customersService, 'http'),
      CATALOG_SERVICE_ADDRESS: `${options.host}:${catalogService.ports['grpc']}`,
    };
    const [customers, catalog, orders] = await Promise.all([
      start('customers-subgraph', {
        entry: 'subgraphs/customers/main.ts',
        env: { CUSTOMERS_SERVICE_URL: backends.CUSTOMERS_SERVICE_URL },
        listeners: ['http'],
      }),
      start('catalog-subgraph', {
        entry: 'subgraphs/catalog/main.ts',
        env: { CATALOG_SERVICE_ADDRESS: backends.CATALOG_SERVICE_ADDRESS },
        listeners: ['http'],
      }),
      start('orders-subgraph', { entry: 'subgraphs/orders/main.ts', env: { ...backends, ...kafka }, listeners: ['http'] }),
      ...(kafka
        ? [start('fulfillment-service', { entry: 'services/fulfillment/main.ts', env: { ...kafka, METRICS_PORT: '0' }, listeners: ['metrics'] })]
        : []),
    ]);
    const gateway = await start('gateway', {
      entry: 'gateway/src/main.ts',
      env: {
        PORT: String(options.gatewayPort),
        SUBGRAPH_URLS: [
          `customers=${url(customers, 'http')}/graphql`,
          `catalog=${url(catalog, 'http')}/graphql`,
          `orders=${url(orders!, 'http')}/graphql`,
        ].join(','),
      },
      listeners: ['http'],
    });
    return { processes, gatewayUrl: url(gateway, 'http'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
