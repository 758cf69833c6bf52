/**
 * `interchange subgraph new <name> --from-openapi <file>` / `--from-proto <file>` /
 * `--from-topic <topic> --event-schemas <dir>`: scaffolds a subgraph on the kit from a backend's
 * contract or a topic's event schemas (scripts/scaffold/), registers it and composes.
 * Prints what it wrote and what of the contract it left out; a contract it cannot map, a name taken
 * or a subgraph that would not compose is reported with where, and nothing is written.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeTextAtomically } from '../../lib/atomic-file.ts';
import { join } from 'node:path';
import { syncComposeFile } from '../compose-file.ts';
import { ContractError } from '../scaffold/model.ts';
import { scaffold, ScaffoldError } from '../scaffold/scaffold.ts';
import { readRegistry, RegistryError } from '../registry.ts';

export interface SubgraphNewOptions {
  fromOpenapi?: string | undefined;
  fromProto?: string | undefined;
  fromTopic?: string | undefined;
  /** With fromTopic: the folder of its event schemas. */
  eventSchemas?: string | undefined;
  serviceUrl?: string | undefined;
  root: string;
  compose: boolean;
}

/** Prints what happened; resolves with the process's exit code. */
export async function subgraphNew(name: string, options: SubgraphNewOptions): Promise<number> {
  const sources = [
    ...(options.fromOpenapi ? [{ kind: 'openapi' as const, file: options.fromOpenapi }] : []),
    ...(options.fromProto ? [{ kind: 'proto' as const, file: options.fromProto }] : []),
    ...(options.fromTopic ? [{ kind: 'topic' as const, topic: options.fromTopic, dir: options.eventSchemas ?? '' }] : []),
  ];
  if (sources.length !== 1) {
    process.stderr.write(
      'error: give one contract: --from-openapi <file>, --from-proto <file> or --from-topic <topic> --event-schemas <dir>\n',
    );
    return 1;
  }
  if (options.fromTopic ? !options.eventSchemas || options.serviceUrl : options.eventSchemas) {
    process.stderr.write(
      options.fromTopic
        ? options.serviceUrl
          ? 'error: --service-url is for --from-openapi and --from-proto; a topic subgraph reads its topic\n'
          : 'error: --from-topic needs --event-schemas <dir>: the folder of its JSON Schemas, one per event type\n'
        : 'error: --event-schemas goes with --from-topic <topic>\n',
    );
    return 1;
  }
  try {
    const result = await scaffold({
      name,
      contract: sources[0]!,
      root: options.root,
      serviceUrl: options.serviceUrl,
      compose: options.compose,
    });
    const types = result.written.filter((path) => path.startsWith('schema/generated/'));
    const written = [
      ...result.written.filter((path) => !types.includes(path)),
      ...(types.length > 0 ? [`schema/generated/ (${types.length} files: the .proto types, as npm run codegen writes them)`] : []),
    ];
    process.stdout.write(`scaffolded the ${name} subgraph:\n${written.map((path) => `  wrote ${path}\n`).join('')}`);
    for (const note of result.skipped) process.stdout.write(`  left out: ${note}\n`);
    for (const hint of result.hints) process.stderr.write(`hint: ${hint}\n`);
    if (options.compose) {
      // The Compose file follows the registry, as `interchange compose` keeps it.
      const composeFile = join(options.root, 'docker-compose.yml');
      if (existsSync(composeFile)) {
        const before = await readFile(composeFile, 'utf8');
        const synced = syncComposeFile(before, await readRegistry(join(options.root, 'schema', 'subgraphs.yaml')));
        if (synced.text !== before) {
          await writeTextAtomically(composeFile, synced.text);
          process.stdout.write(`  updated docker-compose.yml (added ${synced.added.join(', ')})\n`);
        }
      }
    }
    process.stdout.write(
      options.compose
        ? 'npm start starts it (a running npm start at once) and the gateway routes to it.\n'
        : 'npm start starts it once you compose (npx interchange compose).\n',
    );
    return 0;
  } catch (err) {
    if (err instanceof ContractError || err instanceof ScaffoldError || err instanceof RegistryError) {
      process.stderr.write(`error: ${err.message}\nnothing was written\n`);
      return 1;
    }
    throw err;
  }
}
