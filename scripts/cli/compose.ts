/**
 * `interchange compose`: composes the registry's subgraphs into schema/supergraph.graphql, or prints
 * why composition failed (with file, line and column) and exits 1. `--check` only says whether the
 * supergraph file is current.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { composeSupergraph, shown } from '../composition.ts';

export interface ComposeOptions {
  registry: string;
  out: string;
  check?: boolean | undefined;
}

/** Prints what happened; resolves with the process's exit code. */
export async function compose({ registry, out, check }: ComposeOptions): Promise<number> {
  const result = await composeSupergraph(registry);
  if (!result.ok) {
    process.stderr.write(`composition failed:\n${result.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return 1;
  }
  for (const hint of result.hints) process.stderr.write(`hint: ${hint}\n`);
  if (check) {
    const current = await readFile(out, 'utf8').catch(() => '');
    if (current !== result.supergraphSdl) {
      process.stderr.write(`${shown(out)} is out of date: run \`npx interchange compose\`\n`);
      return 1;
    }
    process.stdout.write(`${shown(out)} is current\n`);
    return 0;
  }
  await writeFile(out, result.supergraphSdl);
  process.stdout.write(`wrote ${shown(out)}\n`);
  return 0;
}
