/**
 * Composes the subgraph SDLs listed in schema/subgraphs.yaml into a Federation v2 supergraph.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse, type DocumentNode } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const schemaDir = resolve(dirname(fileURLToPath(import.meta.url)), '../schema');
export const supergraphPath = resolve(schemaDir, 'supergraph.graphql');
export const subgraphListPath = resolve(schemaDir, 'subgraphs.yaml');

const subgraphList = z.object({
  subgraphs: z.array(z.object({ name: z.string().regex(/^[a-z][a-z0-9_-]*$/), schema: z.string().min(1), url: z.url() })).min(1),
});

export type SubgraphEntry = z.infer<typeof subgraphList>['subgraphs'][number];

export type CompositionResult = { ok: true; supergraphSdl: string; hints: string[] } | { ok: false; errors: string[] };

/** Reads a subgraph list; `schema` paths in it are relative to the list's folder. */
export async function readSubgraphList(listPath = subgraphListPath): Promise<SubgraphEntry[]> {
  const parsed = subgraphList.safeParse(parseYaml(await readFile(listPath, 'utf8')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`${listPath} is invalid:\n  ${problems.join('\n  ')}`);
  }
  const seen = new Set<string>();
  for (const { name } of parsed.data.subgraphs) {
    if (seen.has(name)) throw new Error(`${listPath}: subgraph name "${name}" is used twice`);
    seen.add(name);
  }
  return parsed.data.subgraphs;
}

export async function composeSupergraph(listPath = subgraphListPath): Promise<CompositionResult> {
  const entries = await readSubgraphList(listPath);
  const services: { name: string; url: string; typeDefs: DocumentNode }[] = [];
  const errors: string[] = [];
  for (const entry of entries) {
    const file = resolve(dirname(listPath), entry.schema);
    try {
      services.push({ name: entry.name, url: entry.url, typeDefs: parse(await readFile(file, 'utf8')) });
    } catch (err) {
      errors.push(`[${entry.name}] ${entry.schema}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const result = composeServices(services);
  if (result.errors) {
    // Federation's messages already start with the subgraph name in brackets where one is to blame.
    return { ok: false, errors: result.errors.map((e) => `${String(e.extensions['code'] ?? 'COMPOSITION_ERROR')}: ${e.message}`) };
  }
  return { ok: true, supergraphSdl: result.supergraphSdl, hints: result.hints.map((h) => h.toString()) };
}
