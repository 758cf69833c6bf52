/**
 * A scratch copy of the project for tests that write where the project keeps its contracts and code
 * (`interchange subgraph new --root <scratch>`, a registry that grows while a system runs): schema/,
 * lib/, the kit, the TypeScript and Prettier settings, node_modules linked; with `system`, also
 * every subgraph, the services and the given fixtures, so the example system runs from it (its
 * registry, schema/subgraphs.yaml, names entry points relative to the scratch root). Test files are
 * left out. The repository itself is never written to.
 */
import { copyFile, cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../lib/supervisor.ts';

export interface Scratch {
  root: string;
  /** Its registry of subgraphs. */
  registry: string;
  remove(): Promise<void>;
}

export async function scratchProject(options: { system?: boolean; fixtures?: string[] } = {}): Promise<Scratch> {
  const root = await mkdtemp(join(tmpdir(), 'interchange-scratch-'));
  const noTests = (source: string) => !source.endsWith('.test.ts');
  const folders = ['lib', 'schema', ...(options.system ? ['subgraphs', 'services'] : ['subgraphs/kit']), ...(options.fixtures ?? [])];
  for (const folder of folders) await cp(join(repoRoot, folder), join(root, folder), { recursive: true, filter: noTests });
  for (const file of ['package.json', 'tsconfig.json', '.prettierrc.json']) await copyFile(join(repoRoot, file), join(root, file));
  await symlink(join(repoRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
  return { root, registry: join(root, 'schema/subgraphs.yaml'), remove: () => rm(root, { recursive: true, force: true }) };
}
