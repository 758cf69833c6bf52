import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readRegistry, resolveSettings, runsWith, type SystemLocations } from './registry.ts';

describe('the registry of subgraphs', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'interchange-registry-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const registry = async (text: string) => {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, text);
    return path;
  };
  const services = `services:
  - name: rest-service
    entry: services/rest/main.ts
    listeners: { http: PORT, metrics: METRICS_PORT }
  - name: kafka-only
    entry: services/k/main.ts
    listeners: { metrics: METRICS_PORT }
    only: kafka
`;

  test('reads services and subgraphs; a subgraph without an entry runs elsewhere', async () => {
    const path = await registry(`${services}subgraphs:
  - name: reviews
    schema: subgraphs/reviews.graphql
    url: http://localhost:4104/graphql
    entry: subgraphs/reviews/main.ts
    env: { REST_URL: "http://\${rest-service.http}/v1", KAFKA_BROKERS: "\${KAFKA_BROKERS}", DATA_DIR: "\${DATA_DIR}/reviews" }
  - name: remote
    schema: subgraphs/remote.graphql
    url: https://remote.example/graphql
`);
    const read = await readRegistry(path);
    assert.deepEqual(
      read.processes.map((p) => p.name),
      ['rest-service', 'kafka-only', 'reviews-subgraph'],
    );
    assert.equal(read.subgraphs[1]!.process, undefined);
    assert.equal(read.subgraphs[0]!.schemaPath, join(dir, 'subgraphs/reviews.graphql'));
    assert.deepEqual(read.subgraphs[0]!.process!.listeners, { http: 'PORT', ops: 'OPS_PORT' });
    assert.deepEqual(
      read.services.map((s) => [s.name, runsWith(s, false), runsWith(s, true)]),
      [
        ['rest-service', true, true],
        ['kafka-only', false, true],
      ],
    );
    const where = (kafka?: string): SystemLocations => ({
      address: (name, listener) => `${name}.${listener}:1`,
      KAFKA_BROKERS: kafka,
      DATA_DIR: '/d',
    });
    assert.deepEqual(resolveSettings(read.subgraphs[0]!.process!, where('k:9092')), {
      REST_URL: 'http://rest-service.http:1/v1',
      KAFKA_BROKERS: 'k:9092',
      DATA_DIR: '/d/reviews',
    });
    // Without Kafka the setting is left out: the process uses its embedded log.
    assert.deepEqual(resolveSettings(read.subgraphs[0]!.process!, where()), {
      REST_URL: 'http://rest-service.http:1/v1',
      DATA_DIR: '/d/reviews',
    });
  });

  test('refuses wrong references, naming each with its process and setting', async () => {
    const path = await registry(`${services}subgraphs:
  - name: reviews
    schema: r.graphql
    url: http://localhost:4104/graphql
    entry: subgraphs/reviews/main.ts
    env:
      A: \${nowhere.http}
      B: \${rest-service.grpc}
      C: \${SOMETHING}
      D: \${reviews-subgraph.http}
`);
    await assert.rejects(readRegistry(path), (err: Error) => {
      assert.match(
        err.message,
        /reviews-subgraph: A: \$\{nowhere\.http\} names no service of the registry \(it has rest-service, kafka-only\)/,
      );
      assert.match(err.message, /reviews-subgraph: B: \$\{rest-service\.grpc\} names no listener of rest-service \(it has http, metrics\)/);
      assert.match(err.message, /reviews-subgraph: C: \$\{SOMETHING\} names nothing/);
      assert.match(err.message, /reviews-subgraph: D: \$\{reviews-subgraph\.http\} names no service/);
      return true;
    });
  });

  test('refuses a missing field, an unknown key, a bad URL and a name used twice, each with where it is', async () => {
    const path = await registry(`subgraphs:
  - name: a
    schema: a.graphql
    url: not-a-url
    colour: blue
  - name: b
    url: http://localhost:1/graphql
`);
    await assert.rejects(readRegistry(path), (err: Error) => {
      assert.match(err.message, /subgraphs\.0\.url/);
      assert.match(err.message, /subgraphs\.0: Unrecognized key: "colour"/);
      assert.match(err.message, /subgraphs\.1\.schema/);
      return true;
    });
    const twice = await registry(`subgraphs:
  - { name: a, schema: a.graphql, url: "http://localhost:1/graphql" }
  - { name: a, schema: b.graphql, url: "http://localhost:2/graphql" }
`);
    await assert.rejects(readRegistry(twice), /subgraph a is listed twice/);
  });

  test('refuses the gateway as a process name, env on a subgraph that runs elsewhere, a started subgraph without a port, a reference to a Kafka-only service', async () => {
    const path = await registry(`${services}  - name: gateway
    entry: services/g/main.ts
    listeners: { http: PORT }
subgraphs:
  - name: remote
    schema: r.graphql
    url: https://remote.example/graphql
    env: { A: b }
  - name: local
    schema: l.graphql
    url: http://localhost/graphql
    entry: subgraphs/local/main.ts
    env: { M: "\${kafka-only.metrics}" }
`);
    await assert.rejects(readRegistry(path), (err: Error) => {
      assert.match(err.message, /process gateway: the name is the gateway's own/);
      assert.match(err.message, /subgraph remote: env without entry/);
      assert.match(err.message, /subgraph local: url http:\/\/localhost\/graphql names no port/);
      assert.match(err.message, /local-subgraph: M: \$\{kafka-only\.metrics\} names kafka-only, which runs only with Kafka/);
      return true;
    });
  });

  test('the project registry is valid', async () => {
    const read = await readRegistry();
    assert.ok(read.subgraphs.length > 0);
  });
});
