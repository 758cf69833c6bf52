/**
 * Keeps docker-compose.yml in step with the registry (`interchange compose` does it beside the
 * supergraph): a process the registry has and the file lacks gets a container in the shape of the
 * others (the shared build, environment and healthcheck anchors, its settings wired by service
 * name, `depends_on` what it refers to), a subgraph container whose subgraph left the registry is
 * removed, and the gateway's SUBGRAPH_URLS and `depends_on` name exactly the registry's subgraphs.
 * Everything else in the file, comments included, stays as it is (the yaml Document API).
 * test/compose/compose.test.ts checks the result against the registry.
 */
import { isAlias, isMap, isScalar, parseDocument, Scalar, visit, YAMLMap, YAMLSeq, type Document, type Node } from 'yaml';
import { dependencies, resolveSettings, usesKafka, type ProcessEntry, type SubgraphRegistry } from './registry.ts';

const SUBGRAPH = /-subgraph$/;
/** Where the data of a container that refers to ${DATA_DIR} lives (a named volume). */
const DATA_MOUNT = '/data';
const KAFKA_SERVICE = 'kafka';
const KAFKA_INIT = 'kafka-init';

export interface ComposeFileChange {
  text: string;
  added: string[];
  removed: string[];
}

/** The Compose file's text brought in step with the registry, and what changed. */
export function syncComposeFile(text: string, registry: SubgraphRegistry): ComposeFileChange {
  const doc = parseDocument(text);
  const services = doc.get('services') as YAMLMap;
  if (!isMap(services)) throw new Error('the Compose file has no services');
  const has = (name: string) => services.has(name);
  const added: string[] = [];
  const removed: string[] = [];
  const ports = new PortPicker(doc);

  // A container that runs an Interchange entry point (`node <file>.ts`) is the registry's to keep:
  // one whose process left the registry goes (the gateway is not in the registry).
  for (const key of services.items.map((pair) => String((pair.key as Scalar).value))) {
    if (key === 'gateway' || registry.processes.some((p) => p.name === key) || !runsInterchange(doc, key)) continue;
    services.delete(key);
    removed.push(key);
  }
  // Nothing waits for a container that is gone.
  for (const pair of services.items) {
    const dependsOn = isMap(pair.value) ? pair.value.get('depends_on') : undefined;
    if (isMap(dependsOn)) for (const name of removed) dependsOn.delete(name);
    if (isMap(dependsOn) && dependsOn.items.length === 0 && isMap(pair.value)) pair.value.delete('depends_on');
  }
  for (const process of registry.processes) {
    if (has(process.name)) {
      updateSettings(doc, process, (name, listener) => portOf(doc, registry, name, listener));
      continue;
    }
    const subgraph = registry.subgraphs.find((s) => s.process === process);
    const listenerPorts = Object.fromEntries(
      Object.entries(process.listeners).map(([listener, setting]) => [
        listener,
        setting === 'OPS_PORT' ? undefined : subgraph && setting === 'PORT' ? Number(new URL(subgraph.url).port) : ports.next(),
      ]),
    );
    services.set(
      doc.createNode(process.name),
      containerFor(doc, process, listenerPorts, (name) => portOf(doc, registry, name)),
    );
    spaceBefore(services, process.name);
    added.push(process.name);
  }
  syncGateway(doc, registry);
  // Laid out as the file is: long lines kept whole, `["a", "b"]`, an empty volume entry left empty.
  return { text: doc.toString({ lineWidth: 0, flowCollectionPadding: false, nullStr: '' }), added, removed };
}

/** A container for a registry process, in the shape of the file's others. */
function containerFor(
  doc: Document,
  process: ProcessEntry,
  listenerPorts: Record<string, number | undefined>,
  address: (name: string, listener: string) => string,
): YAMLMap {
  const container = new YAMLMap();
  container.add(doc.createPair('<<', anchored(doc, 'interchange')));
  container.set('command', flow(['node', process.entry]));
  const environment = new YAMLMap();
  environment.add(doc.createPair('<<', anchored(doc, 'interchange-env')));
  for (const [listener, setting] of Object.entries(process.listeners)) {
    const port = listenerPorts[listener];
    if (port !== undefined) environment.set(setting, quoted(String(port)));
  }
  const settings = resolveSettings(process, {
    address: (name, listener) => address(name, listener),
    KAFKA_BROKERS: `${KAFKA_SERVICE}:9092`,
    DATA_DIR: DATA_MOUNT,
  });
  for (const [setting, value] of Object.entries(settings)) environment.set(setting, quoted(value));
  if (SUBGRAPH.test(process.name)) environment.set('IDENTITY_SECRET', anchored(doc, 'identity-secret'));
  container.set('environment', environment);
  if (Object.values(process.env).some((v) => v.includes('${DATA_DIR}'))) {
    container.set('volumes', flow([`${process.name}-data:${DATA_MOUNT}`], false));
    const volumes = (doc.get('volumes') as YAMLMap | undefined) ?? new YAMLMap();
    volumes.set(`${process.name}-data`, null);
    doc.set('volumes', volumes);
  }
  const httpPort = listenerPorts['http'] ?? listenerPorts['metrics'] ?? Object.values(listenerPorts).find((p) => p !== undefined);
  const healthcheck = new YAMLMap();
  healthcheck.add(doc.createPair('<<', anchored(doc, 'node-healthcheck')));
  const probe = usesKafka(process) && SUBGRAPH.test(process.name) ? 'readyz' : 'healthz';
  healthcheck.set('test', flow(['CMD', 'node', '-e', anchored(doc, 'http-probe'), `http://127.0.0.1:${httpPort}/${probe}`]));
  container.set('healthcheck', healthcheck);
  const dependsOn = new YAMLMap();
  if (usesKafka(process)) {
    dependsOn.set(KAFKA_SERVICE, { condition: 'service_healthy' });
    dependsOn.set(KAFKA_INIT, { condition: 'service_completed_successfully' });
  }
  for (const name of dependencies(process)) dependsOn.set(name, { condition: 'service_healthy' });
  if (dependsOn.items.length > 0) container.set('depends_on', dependsOn);
  return container;
}

/** Whether a container runs one of Interchange's entry points (`node <file>.ts`). */
function runsInterchange(doc: Document, name: string): boolean {
  const command = doc.getIn(['services', name, 'command']);
  return (
    command instanceof YAMLSeq &&
    command.items.length === 2 &&
    String((command.items[0] as Scalar).value) === 'node' &&
    /\.ts$/.test(String((command.items[1] as Scalar).value))
  );
}

/** An existing container's settings where the registry now gives others (the file's own spelling, aliases included, kept where they agree). */
function updateSettings(doc: Document, process: ProcessEntry, address: (name: string, listener: string) => string): void {
  const environment = doc.getIn(['services', process.name, 'environment']);
  if (!isMap(environment)) return;
  const settings = resolveSettings(process, { address, KAFKA_BROKERS: `${KAFKA_SERVICE}:9092`, DATA_DIR: DATA_MOUNT });
  for (const [setting, value] of Object.entries(settings)) {
    const current = environment.get(setting, true) as Node | undefined;
    const resolved = isAlias(current) ? (current.resolve(doc) as Scalar | undefined)?.value : isScalar(current) ? current.value : undefined;
    if (String(resolved) !== value) environment.set(setting, quoted(value));
  }
}

/** The gateway routes to every subgraph of the registry by service name and waits for each to be healthy. */
function syncGateway(doc: Document, registry: SubgraphRegistry): void {
  const gateway = doc.getIn(['services', 'gateway']);
  if (!isMap(gateway)) return;
  const urls = registry.subgraphs.map((s) => {
    const port = s.process ? portOf(doc, registry, s.process.name, 'http') : undefined;
    return `${s.name}=${s.process && port ? `http://${s.process.name}:${port.split(':')[1]}/graphql` : s.url}`;
  });
  const environment = gateway.get('environment');
  if (isMap(environment)) environment.set('SUBGRAPH_URLS', urls.join(','));
  const dependsOn = (gateway.get('depends_on') as YAMLMap | undefined) ?? new YAMLMap();
  for (const pair of [...dependsOn.items]) {
    const name = String((pair.key as Scalar).value);
    if (SUBGRAPH.test(name) && !registry.processes.some((p) => p.name === name)) dependsOn.delete(name);
  }
  for (const s of registry.subgraphs)
    if (s.process && !dependsOn.has(s.process.name)) dependsOn.set(s.process.name, { condition: 'service_healthy' });
  gateway.set('depends_on', dependsOn);
}

/** `service:port` of a process's listener in the file (the port its listener setting has there). */
function portOf(doc: Document, registry: SubgraphRegistry, name: string, listener = 'http'): string {
  const process = registry.processes.find((p) => p.name === name);
  const setting = process?.listeners[listener];
  const value = setting ? doc.getIn(['services', name, 'environment', setting]) : undefined;
  return `${name}:${isScalar(value) ? String(value.value) : String(value ?? '')}`;
}

/** An alias of the node the file anchors as `name` (the shared build, environment, healthcheck, secrets). */
function anchored(doc: Document, name: string) {
  let found: Node | undefined;
  visit(doc, {
    Node(_key, node) {
      if ((node as Node).anchor === name) {
        found = node as Node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (!found) throw new Error(`the Compose file has no anchor &${name} to build a container from`);
  return doc.createAlias(found as Scalar);
}

function flow(items: unknown[], inline = true): YAMLSeq {
  const seq = new YAMLSeq();
  for (const item of items) seq.add(typeof item === 'string' ? quoted(item) : item);
  seq.flow = inline;
  return seq;
}

function quoted(value: string): Scalar {
  const scalar = new Scalar(value);
  scalar.type = Scalar.QUOTE_DOUBLE;
  return scalar;
}

function spaceBefore(map: YAMLMap, key: string): void {
  const pair = map.items.find((p) => (p.key as Scalar).value === key);
  if (pair && isScalar(pair.key)) pair.key.spaceBefore = true;
}

/** Fixed ports for new services' listeners: one past the highest PORT or METRICS_PORT the file gives a container. */
class PortPicker {
  private highest = 4200;

  constructor(doc: Document) {
    visit(doc, {
      Pair: (_key, pair) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        if ((key === 'PORT' || key === 'METRICS_PORT') && isScalar(pair.value)) {
          const port = Number(pair.value.value);
          if (port >= 4200 && port < 4300) this.highest = Math.max(this.highest, port);
        }
      },
    });
  }

  next(): number {
    return ++this.highest;
  }
}
