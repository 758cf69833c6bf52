/**
 * Adds a subgraph to the registry's text (schema/subgraphs.yaml) through the `yaml` package's
 * Document API, so the file's comments and layout stay as they are; picks its URL: the port
 * after the highest any subgraph of the registry routes to; and reads which entities the
 * registry's subgraphs compose, for a new subgraph to join to.
 */
import { readFile } from 'node:fs/promises';
import { Kind, parse, type ObjectTypeDefinitionNode, type ObjectTypeExtensionNode } from 'graphql';
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

/**
 * The entities keyed by `id` (`@key(fields: "id")`) in the registry's subgraphs, each with the
 * fields the subgraphs give it: what the supergraph has for a new subgraph to refer to and extend.
 * An SDL that cannot be read or parsed is passed over: composing with it reports it.
 */
export async function keyedEntities(registry: SubgraphRegistry): Promise<Map<string, Set<string>>> {
  const entities = new Map<string, Set<string>>();
  for (const entry of registry.subgraphs) {
    let types: (ObjectTypeDefinitionNode | ObjectTypeExtensionNode)[];
    try {
      types = parse(await readFile(entry.schemaPath, 'utf8')).definitions.filter(
        (d) => d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION,
      );
    } catch {
      continue;
    }
    for (const type of types) {
      const keyed = type.directives?.some(
        (d) =>
          d.name.value === 'key' &&
          d.arguments?.some((a) => a.name.value === 'fields' && a.value.kind === Kind.STRING && a.value.value.trim() === 'id'),
      );
      if (!keyed) continue;
      const fields = entities.get(type.name.value) ?? new Set<string>();
      for (const field of type.fields ?? []) fields.add(field.name.value);
      entities.set(type.name.value, fields);
    }
  }
  return entities;
}
