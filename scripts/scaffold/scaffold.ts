/**
 * `interchange subgraph new`: from a contract to a subgraph on the kit. Everything is made and
 * checked in memory first (the model, the SDL built as a subgraph schema, the registry with its new
 * entry, the composition with every other subgraph); only then is anything written, and a write
 * that fails takes back what was written before it. So a contract it cannot map, or a subgraph that
 * would not compose, leaves the project as it was.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { writeTextAtomically } from '../../lib/atomic-file.ts';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { format, resolveConfig } from 'prettier';
import { generateTypes } from '../codegen.ts';
import { composeRegistry } from '../composition.ts';
import { parseRegistry, readRegistry } from '../registry.ts';
import { writeDatasource } from './datasource.ts';
import { serviceSetting, type SubgraphModel } from './model.ts';
import { writeIndex, writeMain, writeTest } from './module.ts';
import { readOpenApi } from './openapi.ts';
import { readProto } from './proto.ts';
import { readTopic, writeTopicIndex, writeTopicResolvers, writeTopicSdl, writeTopicTest } from './topic.ts';
import { addSubgraph, keyedEntities, nextSubgraphUrl } from './registry.ts';
import { writeResolvers } from './resolvers.ts';
import { writeSdl } from './sdl.ts';

export interface ScaffoldOptions {
  /** The subgraph's name: lower case, digits and dashes (`reviews`). */
  name: string;
  /** A service's contract file, or a topic and the folder of its event schemas (one JSON Schema per event type). */
  contract: { kind: 'openapi' | 'proto'; file: string } | { kind: 'topic'; topic: string; dir: string };
  /** The project root: schema/ and subgraphs/ are under it. */
  root: string;
  /** Where the backend is (a URL for REST, host:port for gRPC; `${service.listener}` references allowed). */
  serviceUrl?: string | undefined;
  /** Compose the supergraph after writing (the default). */
  compose: boolean;
}

export interface ScaffoldResult {
  /** Paths written, relative to the root. */
  written: string[];
  /** What the contract had that the subgraph leaves out, with why. */
  skipped: string[];
  /** Composition hints. */
  hints: string[];
}

/** Why nothing was written: a contract it cannot map, a name taken, or a subgraph that would not compose. */
export class ScaffoldError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ScaffoldError';
  }
}

const NAME = /^[a-z][a-z0-9-]*$/;
const REFERENCE = /\$\{[^}]+\}/;

export async function scaffold(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const { name, root, contract } = options;
  const paths = {
    registry: join(root, 'schema/subgraphs.yaml'),
    supergraph: join(root, 'schema/supergraph.graphql'),
    sdl: join(root, 'schema/subgraphs', `${name}.graphql`),
    folder: join(root, 'subgraphs', name),
  };
  if (!NAME.test(name) || name === 'kit')
    throw new ScaffoldError(`"${name}" is not a subgraph name: lower case letters, digits and dashes, not "kit"`);
  const registry = await readRegistry(paths.registry);
  if (registry.subgraphs.some((s) => s.name === name))
    throw new ScaffoldError(`a subgraph named ${name} is in ${shown(root, paths.registry)} already`);
  for (const path of [paths.folder, paths.sdl]) if (await exists(path)) throw new ScaffoldError(`${shown(root, path)} exists already`);

  const plan =
    contract.kind === 'topic'
      ? await topicPlan(root, name, contract, await keyedEntities(registry))
      : await servicePlan(root, name, contract, options.serviceUrl);
  const code = await renderCode(plan.sdl, plan.code, paths.folder);
  const registryText = addSubgraph(await readFile(paths.registry, 'utf8'), {
    name,
    schema: relative(dirname(paths.registry), paths.sdl),
    url: nextSubgraphUrl(registry),
    entry: relative(root, join(paths.folder, 'main.ts')),
    env: plan.env,
  });
  let next;
  try {
    next = parseRegistry(paths.registry, registryText);
  } catch (err) {
    throw new ScaffoldError(`the registry with ${name} would be invalid: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  let supergraph: string | undefined;
  const hints: string[] = [];
  if (options.compose) {
    const composed = await composeRegistry(next, { sdls: new Map([[paths.sdl, plan.sdl]]) });
    if (!composed.ok)
      throw new ScaffoldError(`${name} would not compose with the other subgraphs:\n${composed.errors.map((e) => `  - ${e}`).join('\n')}`);
    supergraph = composed.supergraphSdl;
    hints.push(...composed.hints);
  }

  const files: [string, string][] = [
    ...plan.files,
    [paths.sdl, plan.sdl],
    ...[...code].map(([file, text]): [string, string] => [join(paths.folder, file), text]),
    [paths.registry, registryText],
    ...(supergraph === undefined ? [] : [[paths.supergraph, supergraph] as [string, string]]),
  ];
  await writeAll(root, files, plan.copies, paths.folder);
  return {
    written: [...plan.copies.map((copy) => copy.to), ...files.map(([path]) => path)].map((path) => relative(root, path)),
    skipped: plan.skipped,
    hints,
  };
}

/** What one kind of contract makes: the SDL, the folder's code (unformatted), the registry's env, and the files besides. */
interface Plan {
  sdl: string;
  code: Map<string, string>;
  env: Record<string, string>;
  /** Contract files to copy into schema/ (none when they are there already). */
  copies: { from: string; to: string }[];
  /** Other files to write (the .proto types). */
  files: [string, string][];
  skipped: string[];
}

/** A REST or gRPC service's contract: copied to schema/openapi or schema/proto; the backend's address in the env. */
async function servicePlan(
  root: string,
  name: string,
  contract: { kind: 'openapi' | 'proto'; file: string },
  serviceUrl: string | undefined,
): Promise<Plan> {
  const target = join(root, 'schema', contract.kind, basename(contract.file));
  const contractText = await readContract(contract.file);
  const sameFile = resolve(contract.file) === resolve(target);
  if (!sameFile && (await readFile(target, 'utf8').catch(() => contractText)) !== contractText) {
    throw new ScaffoldError(`${shown(root, target)} exists already with other content`);
  }
  const model = contract.kind === 'openapi' ? await readOpenApi(contract.file, name) : readProto(contract.file, name);
  const backend = backendAddress(model, serviceUrl);
  return {
    sdl: writeSdl(model, relative(root, target)),
    code: new Map([
      ['datasource.ts', writeDatasource(model)],
      ['resolvers.ts', writeResolvers(model)],
      ['index.ts', writeIndex(model)],
      ['main.ts', writeMain(model)],
      ['subgraph.test.ts', writeTest(model)],
    ]),
    env: { [serviceSetting(model)]: backend },
    copies: sameFile ? [] : [{ from: contract.file, to: target }],
    // schema/generated stays what the .proto files give (the contracts test checks it), though the
    // subgraph itself loads its .proto at run time and needs none of these types.
    files: contract.kind === 'proto' ? await protoTypes(root, contract.file) : [],
    skipped: model.skipped,
  };
}

/**
 * A topic's event schemas: copied to schema/events/<name>/ (which the subgraph reads at run time); Kafka and DATA_DIR in the env.
 * `entities`: the registry's entities keyed by `id`, which the projection joins to.
 */
async function topicPlan(
  root: string,
  name: string,
  contract: { topic: string; dir: string },
  entities: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<Plan> {
  const target = join(root, 'schema/events', name);
  const model = readTopic(contract.dir, name, contract.topic, entities);
  const sameDir = resolve(contract.dir) === resolve(target);
  const copies = sameDir ? [] : model.contract.types.map((t) => ({ from: join(contract.dir, t.file), to: join(target, t.file) }));
  if (!sameDir && (await exists(target))) throw new ScaffoldError(`${shown(root, target)} exists already`);
  for (const copy of copies) await readContract(copy.from);
  return {
    sdl: writeTopicSdl(model, `${relative(root, target)}/`),
    code: new Map([
      ['resolvers.ts', writeTopicResolvers(model)],
      ['index.ts', writeTopicIndex(model)],
      ['main.ts', writeMain(model)],
      ['subgraph.test.ts', writeTopicTest(model)],
    ]),
    env: { KAFKA_BROKERS: '${KAFKA_BROKERS}', DATA_DIR: '${DATA_DIR}' },
    copies,
    files: [],
    skipped: model.skipped,
  };
}

const readContract = (file: string) =>
  readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ScaffoldError(`cannot read ${file}: ${err.code ?? String(err)}`, { cause: err });
  });

/** The subgraph's TypeScript files by name, formatted as the project's Prettier settings say; the SDL checked to build. */
async function renderCode(sdl: string, code: Map<string, string>, folder: string): Promise<Map<string, string>> {
  try {
    buildSubgraphSchema(parse(sdl));
  } catch (err) {
    throw new Error(`the generated SDL does not build (a bug of the generator): ${String(err)}\n${sdl}`, { cause: err });
  }
  const prettier = (await resolveConfig(join(folder, 'index.ts'))) ?? (await resolveConfig(join(import.meta.dirname, 'scaffold.ts'))) ?? {};
  for (const [file, text] of code) code.set(file, await format(text, { ...prettier, filepath: join(folder, file) }));
  return code;
}

/** The types `npm run codegen` gives for the project's .proto files with the new one, as files to write. */
async function protoTypes(root: string, contract: string): Promise<[string, string][]> {
  const scratch = await mkdtemp(join(tmpdir(), 'interchange-scaffold-types-'));
  try {
    const protos = join(scratch, 'proto');
    await mkdir(protos);
    const existing = await readdir(join(root, 'schema/proto')).catch(() => []);
    for (const file of existing.filter((f) => f.endsWith('.proto'))) await copyFile(join(root, 'schema/proto', file), join(protos, file));
    await copyFile(contract, join(protos, basename(contract)));
    const out = join(scratch, 'generated');
    const generated = await generateTypes(protos, out);
    return Promise.all(
      generated.map(async (file): Promise<[string, string]> => [
        join(root, 'schema/generated', file),
        await readFile(join(out, file), 'utf8'),
      ]),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The backend's address for the registry: the option, else the contract's server; checked for its kind. */
function backendAddress(model: SubgraphModel, given: string | undefined): string {
  const value = given ?? model.serverUrl;
  const setting = serviceSetting(model);
  if (value === undefined) {
    throw new ScaffoldError(
      `where is the ${model.name} service? Give --service-url (${model.kind === 'openapi' ? 'the contract has no servers' : 'host:port'}) for ${setting}`,
    );
  }
  if (REFERENCE.test(value)) return value;
  if (model.kind === 'openapi' ? !/^https?:\/\/[^\s]+$/.test(value) || !URL.canParse(value) : !/^[^\s:/]+:\d{1,5}$/.test(value)) {
    throw new ScaffoldError(`--service-url ${value}: expected ${model.kind === 'openapi' ? 'an http(s) URL' : 'host:port'} for ${setting}`);
  }
  return value;
}

/**
 * Writes every file; when one fails, removes what this call wrote, and the directories it created
 * (schema/events/<name>/ ...), and puts the files it replaced back.
 */
export async function writeAll(
  root: string,
  files: [string, string][],
  copies: { from: string; to: string }[],
  folder: string,
): Promise<void> {
  const before = new Map<string, string | undefined>();
  const created: string[] = [];
  const record = async (path: string) => before.set(path, await readFile(path, 'utf8').catch(() => undefined));
  const directory = async (path: string) => {
    const first = await mkdir(path, { recursive: true });
    if (first !== undefined) created.push(first);
  };
  try {
    await directory(folder);
    for (const copy of copies) {
      await record(copy.to);
      await directory(dirname(copy.to));
      await copyFile(copy.from, copy.to);
    }
    for (const [path, text] of files) {
      await record(path);
      await directory(dirname(path));
      await writeTextAtomically(path, text);
    }
  } catch (err) {
    for (const [path, text] of before)
      await (text === undefined ? rm(path, { force: true }) : writeFile(path, text)).catch(() => undefined);
    // Newest first: a directory created inside another one goes before it.
    for (const dir of created.reverse()) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
    throw new ScaffoldError(
      `writing the subgraph failed, nothing is left of it: ${err instanceof Error ? err.message : String(err)} (under ${root})`,
      { cause: err },
    );
  }
}

const shown = (root: string, path: string) => relative(root, path);
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
