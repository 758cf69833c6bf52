import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../lib/supervisor.ts';
import { syncComposeFile } from './compose-file.ts';
import { readRegistry, registryPath } from './registry.ts';

interface Container {
  command: string[];
  environment: Record<string, string>;
  healthcheck: { test: string[]; interval: string };
  depends_on?: Record<string, { condition: string }>;
  image: string;
}

const REVIEWS = `
  - name: reviews
    schema: subgraphs/reviews.graphql
    url: http://localhost:4104/graphql
    entry: subgraphs/reviews/main.ts
    env:
      REVIEWS_SERVICE_URL: http://\${reviews-service.http}/v1
`;
const REVIEWS_SERVICE = `
  - name: reviews-service
    entry: services/reviews/main.ts
    listeners: { http: PORT }
`;

describe('docker-compose.yml kept in step with the registry', () => {
  let dir: string;
  let compose: string;
  let original: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'interchange-compose-file-'));
    compose = await readFile(join(repoRoot, 'docker-compose.yml'), 'utf8');
    original = await readFile(registryPath, 'utf8');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** The project's registry with more entries, read from a copy beside the project's SDLs. */
  const registryWith = async (subgraphs: string, services = '') => {
    const text = original
      .replace(/^subgraphs:\n/m, `${services.trim() ? '' : ''}subgraphs:\n`)
      .replace(/^services:\n/m, `services:\n${services.replace(/^\n/, '')}`);
    const path = join(dir, `registry-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, `${text.trimEnd()}\n${subgraphs}`);
    return readRegistry(path);
  };

  test('changes nothing, byte for byte, when the file already agrees with the registry', async () => {
    const synced = syncComposeFile(compose, await readRegistry());
    assert.deepEqual([synced.added, synced.removed], [[], []]);
    assert.equal(synced.text, compose);
  });

  test('adds a container for a new subgraph and its service, wired by service name, and routes the gateway to it', async () => {
    const synced = syncComposeFile(compose, await registryWith(REVIEWS, REVIEWS_SERVICE));
    assert.deepEqual(synced.added.sort(), ['reviews-service', 'reviews-subgraph']);
    const services = (parse(synced.text, { merge: true }) as { services: Record<string, Container> }).services;
    const subgraph = services['reviews-subgraph']!;
    const service = services['reviews-service']!;
    assert.deepEqual(subgraph.command, ['node', 'subgraphs/reviews/main.ts']);
    assert.equal(subgraph.image, 'interchange:local', 'the shared build anchors');
    assert.equal(subgraph.environment['PORT'], '4104', 'the port of its registry URL');
    assert.equal(subgraph.environment['PRODUCTION'], 'true', 'the shared environment');
    assert.equal(subgraph.environment['IDENTITY_SECRET'], services['customers-subgraph']!.environment['IDENTITY_SECRET']);
    // The next port after the highest service port the file gives.
    const next = String(Math.max(...[...compose.matchAll(/(?:METRICS_)?PORT: "(42\d\d)"/g)].map((m) => Number(m[1]))) + 1);
    assert.equal(service.environment['PORT'], next, 'the next free service port');
    assert.equal(subgraph.environment['REVIEWS_SERVICE_URL'], `http://reviews-service:${next}/v1`);
    assert.deepEqual(subgraph.depends_on, { 'reviews-service': { condition: 'service_healthy' } });
    assert.deepEqual(subgraph.healthcheck.test.slice(0, 3), ['CMD', 'node', '-e']);
    assert.equal(subgraph.healthcheck.test[4], 'http://127.0.0.1:4104/healthz');
    assert.equal(subgraph.healthcheck.interval, '5s', 'the shared healthcheck');
    const gateway = services['gateway']!;
    assert.match(gateway.environment['SUBGRAPH_URLS']!, /(^|,)reviews=http:\/\/reviews-subgraph:4104\/graphql($|,)/);
    assert.deepEqual(gateway.depends_on?.['reviews-subgraph'], { condition: 'service_healthy' });
    // Laid out as the rest of the file is.
    assert.ok(
      synced.text.includes(
        '\n\n  reviews-subgraph:\n    <<: *interchange\n    command: ["node", "subgraphs/reviews/main.ts"]\n    environment:\n      <<: *interchange-env\n      PORT: "4104"\n',
      ),
      synced.text,
    );
  });

  test("brings an existing container's settings to what the registry now gives, and removes a service that left it", async () => {
    const grown = syncComposeFile(compose, await registryWith(REVIEWS, REVIEWS_SERVICE)).text;
    const edited = await registryWith(REVIEWS.replace('http://${reviews-service.http}/v1', 'https://reviews.example:8443/v2'));
    const synced = syncComposeFile(grown, edited);
    assert.deepEqual(synced.removed, ['reviews-service']);
    const services = (parse(synced.text, { merge: true }) as { services: Record<string, Container> }).services;
    assert.equal(services['reviews-service'], undefined);
    assert.equal(services['reviews-subgraph']!.environment['REVIEWS_SERVICE_URL'], 'https://reviews.example:8443/v2');
    assert.equal(services['reviews-subgraph']!.depends_on, undefined, 'it no longer waits for the service that left');
  });

  test('removes the container of a subgraph that left the registry, and the gateway stops waiting for it', async () => {
    const grown = syncComposeFile(compose, await registryWith(REVIEWS, REVIEWS_SERVICE)).text;
    const shrunk = syncComposeFile(grown, await registryWith('', REVIEWS_SERVICE));
    assert.deepEqual(shrunk.removed, ['reviews-subgraph']);
    const services = (parse(shrunk.text, { merge: true }) as { services: Record<string, Container> }).services;
    assert.equal(services['reviews-subgraph'], undefined);
    assert.equal(services['gateway']!.depends_on?.['reviews-subgraph'], undefined);
    assert.doesNotMatch(services['gateway']!.environment['SUBGRAPH_URLS']!, /reviews/);
  });
});
