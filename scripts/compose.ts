/**
 * `npm run compose`: writes schema/supergraph.graphql, or prints why composition failed and exits 1.
 * `npm run compose -- --check` only reports whether the committed supergraph is current;
 * `--subgraphs FILE` composes another subgraph list (default schema/subgraphs.yaml).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { composeSupergraph, supergraphPath } from './composition.ts';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false }, subgraphs: { type: 'string' } } });
const result = await composeSupergraph(values.subgraphs);
if (!result.ok) {
  process.stderr.write(`composition failed:\n${result.errors.map((e) => `  - ${e}`).join('\n')}\n`);
  process.exit(1);
}
for (const hint of result.hints) process.stderr.write(`hint: ${hint}\n`);
if (values.check) {
  const committed = await readFile(supergraphPath, 'utf8').catch(() => '');
  if (committed !== result.supergraphSdl) {
    process.stderr.write('schema/supergraph.graphql is out of date: run `npm run compose`\n');
    process.exit(1);
  }
  process.stdout.write('schema/supergraph.graphql is current\n');
} else {
  await writeFile(supergraphPath, result.supergraphSdl);
  process.stdout.write(`wrote ${supergraphPath}\n`);
}
