/**
 * The federation engine across a reload: an operation validates, plans and executes on the
 * supergraph it started on, however long it waits between those steps; the next one runs on the new.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { parse } from 'graphql';
import { createLogger } from '../../lib/logger.ts';
import type { SubgraphSender } from './executor/operations.ts';
import { createGateway, parseSupergraph, SubgraphSources, type LoadedSupergraph } from './gateway.ts';

const log = createLogger('test', 'silent');

/** A supergraph where `greeting` comes from this one subgraph. */
function supergraphFrom(name: string): LoadedSupergraph {
  const sdl = `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@shareable"])
    type Query { greeting: String }
  `;
  const result = composeServices([{ name, url: `http://${name}.test/graphql`, typeDefs: parse(sdl) }]);
  if (!result.supergraphSdl) throw new Error(result.errors?.map((e) => e.message).join('; '));
  return parseSupergraph(result.supergraphSdl, 'test', {});
}

/** Subgraph clients that answer with their subgraph's name, recording who was asked. */
function fakeSources() {
  const asked: string[] = [];
  const sender = (name: string): SubgraphSender => ({
    send: () => {
      asked.push(name);
      return Promise.resolve({ data: { greeting: `from ${name}` } });
    },
  });
  return {
    asked,
    senders: (supergraph: LoadedSupergraph) => Object.fromEntries(supergraph.subgraphs.map((s) => [s.name, sender(s.name)])),
    close: () => Promise.resolve(),
  };
}

/** A single result as plain JSON (what a client would get). */
function resultOf(response: Awaited<ReturnType<ApolloServer['executeOperation']>>): unknown {
  assert.equal(response.body.kind, 'single');
  return response.body.kind === 'single' ? JSON.parse(JSON.stringify(response.body.singleResult)) : undefined;
}

describe('federation engine across a reload', { timeout: 20_000 }, () => {
  test('an operation validated before a reload is planned and executed on the supergraph it started on', async (t) => {
    const sources = fakeSources();
    const federation = createGateway(supergraphFrom('first'), sources, { planCacheBytes: 1_000_000, deduplicate: false }, log);
    // Holds the first operation between validation and execution, as a slow plugin (or a busy event loop) would.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let hold = true;
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    const apollo = new ApolloServer({
      gateway: federation.gateway,
      plugins: [
        {
          requestDidStart: async () => ({
            didResolveOperation: async () => {
              if (!hold) return;
              hold = false;
              reached();
              await held;
            },
          }),
        },
      ],
    });
    await apollo.start();
    t.after(() => apollo.stop());

    const first = apollo.executeOperation({ query: '{ greeting }' });
    await atGate;
    await federation.prepare(supergraphFrom('second')).then((serve) => serve());
    release();
    assert.deepEqual(resultOf(await first), { data: { greeting: 'from first' } });
    assert.deepEqual(resultOf(await apollo.executeOperation({ query: '{ greeting }' })), { data: { greeting: 'from second' } });
    assert.deepEqual(sources.asked, ['first', 'second']);
  });
});

describe('subgraph clients', { timeout: 10_000 }, () => {
  test('a subgraph the served supergraph no longer has loses its client; the others keep theirs', (t) => {
    const sources = new SubgraphSources({
      subgraphTimeoutMs: 1_000,
      maxConnections: 4,
      maxResponseBytes: 1_000_000,
      identitySecret: 'secret',
      log,
    });
    t.after(() => sources.close());
    const first = supergraphFrom('first');
    const [kept] = first.subgraphs;
    const keptSource = sources.get(kept!.name, kept!.url);
    const removedSource = sources.get('removed', 'http://removed.test/graphql');
    const movedSource = sources.get(kept!.name, 'http://elsewhere.test/graphql');
    sources.retain(first);
    assert.equal(sources.get(kept!.name, kept!.url), keptSource);
    assert.notEqual(sources.get('removed', 'http://removed.test/graphql'), removedSource);
    assert.notEqual(sources.get(kept!.name, 'http://elsewhere.test/graphql'), movedSource);
  });
});
