/**
 * `interchange compose`: composes the registry's subgraphs into schema/supergraph.graphql, or prints
 * why composition failed (with file, line and column) and exits 1; and brings the Compose file in
 * step with the registry (scripts/compose-file.ts). `--check` only says whether both are current.
 */
import { readFile } from 'node:fs/promises';
import { writeTextAtomically } from '../../lib/atomic-file.ts';
import { syncComposeFile } from '../compose-file.ts';
import { composeSupergraph, shown } from '../composition.ts';
import { readRegistry } from '../registry.ts';

export interface ComposeOptions {
  registry: string;
  out: string;
  /** The Compose file to keep in step with the registry; none: left alone. */
  composeFile?: string | undefined;
  check?: boolean | undefined;
}

/** Prints what happened; resolves with the process's exit code. */
export async function compose({ registry, out, composeFile, check }: ComposeOptions): Promise<number> {
  const result = await composeSupergraph(registry);
  if (!result.ok) {
    process.stderr.write(`composition failed:\n${result.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return 1;
  }
  for (const hint of result.hints) process.stderr.write(`hint: ${hint}\n`);
  const current = await readFile(out, 'utf8').catch(() => '');
  const containers = composeFile ? await containersFor(composeFile, registry) : undefined;
  if (check) {
    let code = 0;
    if (current !== result.supergraphSdl) {
      process.stderr.write(`${shown(out)} is out of date: run \`npx interchange compose\`\n`);
      code = 1;
    } else process.stdout.write(`${shown(out)} is current\n`);
    if (containers && containers.text !== containers.before) {
      process.stderr.write(
        `${shown(composeFile!)} does not match the registry (${changes(containers)}): run \`npx interchange compose\`\n`,
      );
      code = 1;
    }
    return code;
  }
  await writeTextAtomically(out, result.supergraphSdl);
  process.stdout.write(`wrote ${shown(out)}\n`);
  if (containers && containers.text !== containers.before) {
    await writeTextAtomically(composeFile!, containers.text);
    process.stdout.write(`updated ${shown(composeFile!)} (${changes(containers)})\n`);
  }
  return 0;
}

async function containersFor(composeFile: string, registry: string) {
  const before = await readFile(composeFile, 'utf8');
  return { before, ...syncComposeFile(before, await readRegistry(registry)) };
}

function changes({ added, removed }: { added: string[]; removed: string[] }): string {
  const parts = [
    ...(added.length > 0 ? [`added ${added.join(', ')}`] : []),
    ...(removed.length > 0 ? [`removed ${removed.join(', ')}`] : []),
  ];
  return parts.join('; ') || 'the gateway routes to other subgraphs';
}
