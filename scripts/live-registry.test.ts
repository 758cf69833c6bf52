/** What the development loop stops when the registry changes: every process that left it, services too. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { removedProcesses } from './live-registry.ts';
import type { ProcessEntry, SubgraphRegistry } from './registry.ts';

const process = (name: string): ProcessEntry => ({ name, entry: `${name}/main.ts`, listeners: { http: 'PORT' }, env: {} });

function registry(services: string[], subgraphs: string[]): SubgraphRegistry {
  const entries = subgraphs.map((name) => ({
    name,
    schemaPath: `/schema/${name}.graphql`,
    schema: `${name}.graphql`,
    url: `http://localhost:4000/${name}`,
    env: {},
    process: process(`${name}-subgraph`),
  }));
  const serviceEntries = services.map(process);
  return {
    path: '/schema/subgraphs.yaml',
    root: '/',
    services: serviceEntries,
    subgraphs: entries,
    processes: [...serviceEntries, ...entries.map((e) => e.process)],
  };
}

describe('processes removed from the registry', { timeout: 10_000 }, () => {
  test('a service removed from the registry is stopped', () => {
    assert.deepEqual(removedProcesses(registry(['customers', 'catalog'], ['customers']), registry(['customers'], ['customers'])), [
      'catalog',
    ]);
  });

  test('a removed subgraph stops before a removed service it may call', () => {
    assert.deepEqual(
      removedProcesses(registry(['customers', 'catalog'], ['customers', 'catalog']), registry(['customers'], ['customers'])),
      ['catalog-subgraph', 'catalog'],
    );
  });

  test('nothing stops when nothing was removed', () => {
    assert.deepEqual(
      removedProcesses(registry(['customers'], ['customers']), registry(['customers', 'catalog'], ['customers', 'catalog'])),
      [],
    );
  });
});
