/**
 * The gateway on its own (`npm run gateway -- --supergraph FILE --port N`): it serves any valid
 * supergraph, and refuses to start, naming the problem, on bad configuration.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { ChildExitedError, startChild } from '../../lib/supervisor.ts';
import { postGraphQL } from '../support/graphql.ts';
import { TEST_IDENTITY_SECRET } from '../support/identity.ts';
import { refusingPort } from '../support/ports.ts';

const startGateway = (args: string[], env: Record<string, string | undefined> = {}) =>
  startChild({
    name: 'gateway',
    entry: 'gateway/src/main.ts',
    args,
    env: { LOG_LEVEL: 'warn', IDENTITY_SECRET: TEST_IDENTITY_SECRET, ...env },
    listeners: ['http'],
    startTimeoutMs: 60_000,
  });

describe('the gateway on a supergraph of your own', () => {
  let dir: string | undefined;
  let supergraphFile: string;
  let subgraph: ApolloServer;
  let subgraphUrl: string;

  before(async () => {
    // A subgraph that has nothing to do with the example domain.
    const typeDefs = parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { planets: [Planet!]! "The interchange-timeout-ms header of this request." waitsMs: String }
      type Planet @key(fields: "name") { name: String! moons: Int! }
    `);
    subgraph = new ApolloServer({
      schema: buildSubgraphSchema([
        {
          typeDefs,
          resolvers: {
            Query: { planets: () => [{ name: 'Mars', moons: 2 }], waitsMs: (_root, _args, ctx: { waitsMs?: string }) => ctx.waitsMs },
          },
        },
      ]),
    });
    subgraphUrl = (
      await startStandaloneServer(subgraph, {
        listen: { port: 0, host: '127.0.0.1' },
        context: async ({ req }) => ({ waitsMs: req.headers['interchange-timeout-ms'] }),
      })
    ).url;
    const composed = composeServices([{ name: 'astronomy', typeDefs, url: subgraphUrl }]);
    assert.ok(composed.supergraphSdl, String(composed.errors));
    const made = await mkdtemp(join(tmpdir(), 'interchange-gateway-'));
    dir = made;
    supergraphFile = join(made, 'supergraph.graphql');
    await writeFile(supergraphFile, composed.supergraphSdl);
  });
  after(async () => {
    await subgraph?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('serves it with the URLs written in it', async (t) => {
    const gateway = await startGateway(['--supergraph', supergraphFile, '--port', '0']);
    t.after(() => gateway.stop());
    const { body } = await postGraphQL(`http://127.0.0.1:${gateway.ports.http}/graphql`, '{ planets { name moons } }');
    assert.deepEqual(body, { data: { planets: [{ name: 'Mars', moons: 2 }] } });
    assert.equal(await gateway.stop(), 0);
  });

  test('tells the subgraph how long it will wait for the answer (interchange-timeout-ms)', { timeout: 60_000 }, async (t) => {
    const gateway = await startGateway(['--supergraph', supergraphFile, '--port', '0'], { SUBGRAPH_TIMEOUT_MS: '4321' });
    t.after(() => gateway.stop());
    const { body } = await postGraphQL(`http://127.0.0.1:${gateway.ports.http}/graphql`, '{ waitsMs }');
    assert.deepEqual(body, { data: { waitsMs: '4321' } });
  });

  test('exits 1 naming the file when the supergraph file does not exist', async () => {
    await assert.rejects(startGateway(['--supergraph', join(dir!, 'missing.graphql'), '--port', '0']), (err: unknown) => {
      assert.ok(err instanceof ChildExitedError);
      assert.equal(err.code, 1);
      assert.match(err.stderr, /cannot read the supergraph file .*missing\.graphql \(SUPERGRAPH\): ENOENT/);
      return true;
    });
  });

  test('exits 1 when the file is not a supergraph', async () => {
    const notSupergraph = join(dir!, 'plain.graphql');
    await writeFile(notSupergraph, 'type Query { hello: String }');
    await assert.rejects(startGateway(['--supergraph', notSupergraph, '--port', '0']), (err: unknown) => {
      assert.ok(err instanceof ChildExitedError);
      assert.equal(err.code, 1);
      assert.match(err.stderr, /plain\.graphql is not a valid supergraph/);
      return true;
    });
  });

  test('exits 1 when SUBGRAPH_URLS names a subgraph the supergraph does not have', async () => {
    await assert.rejects(
      startGateway(['--supergraph', supergraphFile, '--port', '0', '--subgraph', 'nope=http://127.0.0.1:1/graphql']),
      (err: unknown) => {
        assert.ok(err instanceof ChildExitedError);
        assert.match(err.stderr, /SUBGRAPH_URLS names "nope", not in the supergraph \(it has astronomy\)/);
        return true;
      },
    );
  });

  test('exits 2 with a message naming the setting on a bad value', async () => {
    await assert.rejects(startGateway(['--supergraph', supergraphFile], { PORT: 'eighty', SUBGRAPH_TIMEOUT_MS: '-1' }), (err: unknown) => {
      assert.ok(err instanceof ChildExitedError);
      assert.equal(err.code, 2);
      assert.match(err.stderr, /^gateway: invalid configuration for gateway:/);
      assert.match(err.stderr, /PORT: .*\(got "eighty"\)/);
      assert.match(err.stderr, /SUBGRAPH_TIMEOUT_MS: .*\(got "-1"\)/);
      return true;
    });
  });

  test('answers an unreachable subgraph with SUBGRAPH_UNAVAILABLE and keeps serving', async (t) => {
    const refusing = await refusingPort();
    t.after(() => refusing.close());
    const gateway = await startGateway([
      '--supergraph',
      supergraphFile,
      '--port',
      '0',
      '--subgraph',
      `astronomy=http://127.0.0.1:${refusing.port}/graphql`,
    ]);
    t.after(() => gateway.stop());
    const url = `http://127.0.0.1:${gateway.ports.http}/graphql`;
    for (let i = 0; i < 2; i++) {
      const { status, body } = await postGraphQL(url, '{ planets { name } }');
      assert.equal(status, 200);
      assert.equal(body.data, null);
      assert.equal(body.errors?.[0]?.extensions?.['code'], 'SUBGRAPH_UNAVAILABLE');
      assert.equal(body.errors?.[0]?.extensions?.['serviceName'], 'astronomy');
      assert.match(body.errors?.[0]?.message ?? '', /subgraph "astronomy" is unavailable: (ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET)$/);
    }
    assert.equal((await fetch(`http://127.0.0.1:${gateway.ports.http}/healthz`)).status, 200);
  });
});
