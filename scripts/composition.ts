/**
 * Composes the subgraph SDLs the registry (schema/subgraphs.yaml) lists into a Federation v2
 * supergraph. Every error names where it is: `file:line:column` for an SDL's syntax errors and, where
 * composition can point at the definitions to blame, for its errors too.
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { GraphQLError, Source, getLocation, parse, type DocumentNode } from 'graphql';
import { readRegistry, registryPath, schemaDir, type SubgraphRegistry } from './registry.ts';

export { schemaDir };
export const supergraphPath = resolve(schemaDir, 'supergraph.graphql');

export type CompositionResult = { ok: true; supergraphSdl: string; hints: string[] } | { ok: false; errors: string[] };

/** A path as a person reads it: relative to the working directory when that is shorter. */
export const shown = (path: string) => {
  const rel = relative(process.cwd(), path);
  return rel.length < path.length && !rel.startsWith('..') ? rel : path;
};

/** `file:line:column: message` for each place a GraphQL error points at, or the bare message. */
function located(error: GraphQLError, message = error.message): string {
  const at = (source: Source, position: number) => {
    const { line, column } = getLocation(source, position);
    return `${shown(source.name)}:${line}:${column}`;
  };
  const places = error.nodes
    ? error.nodes.flatMap((node) => (node.loc ? [at(node.loc.source, node.loc.start)] : []))
    : error.source
      ? (error.positions ?? []).map((position) => at(error.source!, position))
      : [];
  return places.length > 0 ? `${[...new Set(places)].join(', ')}: ${message}` : message;
}

export interface ComposeOptions {
  /** Where the supergraph routes to subgraphs (name -> URL) instead of the registry's URLs. */
  urls?: Readonly<Record<string, string>> | undefined;
  /** The text of SDL files not written yet (by absolute path), so a change can be composed before anything is written. */
  sdls?: ReadonlyMap<string, string> | undefined;
}

export async function composeSupergraph(path = registryPath, options: ComposeOptions = {}): Promise<CompositionResult> {
  return composeRegistry(await readRegistry(path), options);
}

/** Composes a registry's subgraphs. */
export async function composeRegistry(registry: SubgraphRegistry, options: ComposeOptions = {}): Promise<CompositionResult> {
  const services: { name: string; url: string; typeDefs: DocumentNode }[] = [];
  const errors: string[] = [];
  for (const entry of registry.subgraphs) {
    let text: string;
    try {
      text = options.sdls?.get(entry.schemaPath) ?? (await readFile(entry.schemaPath, 'utf8'));
    } catch (err) {
      errors.push(`[${entry.name}] cannot read ${shown(entry.schemaPath)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      continue;
    }
    try {
      const url = options.urls?.[entry.name] ?? entry.url;
      services.push({ name: entry.name, url, typeDefs: parse(new Source(text, entry.schemaPath)) });
    } catch (err) {
      errors.push(`[${entry.name}] ${err instanceof GraphQLError ? located(err) : String(err)}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const result = composeServices(services);
  if (result.errors) {
    // Federation's messages already start with the subgraph name in brackets where one is to blame.
    return {
      ok: false,
      errors: result.errors.map((e) => located(e, `${String(e.extensions['code'] ?? 'COMPOSITION_ERROR')}: ${e.message}`)),
    };
  }
  return { ok: true, supergraphSdl: result.supergraphSdl, hints: result.hints.map((h) => h.toString()) };
}
