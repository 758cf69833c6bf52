/**
 * Adds a subgraph to the registry's text (schema/subgraphs.yaml) through the `yaml` package's
 * Document API, so the file's comments and layout stay as they are; and picks its URL: the port
 * after the highest any subgraph of the registry routes to.
 */
import { isSeq, parseDocument } from 'yaml';
import type { SubgraphRegistry } from '../registry.ts';

export interface RegistryEntry {
  name: string;
  /** The SDL, relative to the registry's folder. */
  schema: string;
  url: string;
  entry: string;
  env: Record<string, string>;
}

export function addSubgraph(text: string, entry: RegistryEntry): string {
  const document = parseDocument(text);
  const subgraphs = document.get('subgraphs');
  if (!isSeq(subgraphs)) throw new Error('the registry has no list of subgraphs');
  subgraphs.add(document.createNode({ ...entry }));
  return document.toString();
}

/** `http://localhost:<port>/graphql` on the port after the registry's highest. */
export function nextSubgraphUrl(registry: SubgraphRegistry): string {
  const ports = registry.subgraphs.map((s) => Number(new URL(s.url).port)).filter((p) => p > 0);
  return `http://localhost:${ports.length > 0 ? Math.max(...ports) + 1 : 4101}/graphql`;
}
