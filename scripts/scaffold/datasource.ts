/**
 * The subgraph's data source (subgraphs/<name>/datasource.ts): the backend's types, one method per
 * read, and the per-request loaders. A batch read, where the contract has one, serves the entity's
 * loader; otherwise the loader reads each id concurrently under the kit's bulkhead. REST and gRPC
 * differ only in how a call is written (`Transport`).
 */
import {
  batchMethod,
  byIdMethod,
  codeName,
  entityLoader,
  listMethod,
  relationLoader,
  type ObjectModel,
  type Read,
  type SubgraphModel,
  type TypeRef,
} from './model.ts';

/** How a transport writes its part of the source. */
interface Transport {
  header: string;
  imports: string[];
  members: string[];
  /** An expression that calls `read` (`T`: the answer's type) with the id (`id`), ids (`ids`) and page size (`limit`). */
  call(read: Read, answer: string, args: { id?: string; ids?: string; limit?: string }): string;
}

const key = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));
/** `name: value`, or `name` alone when they are the same. */
const property = (name: string, value: string) => (name === value ? name : `${key(name)}: ${value}`);

function restTransport(model: SubgraphModel): Transport {
  return {
    header: `The ${model.name} REST service (schema/openapi/${model.contract})`,
    imports: ["import { RestClient, type RestClientOptions } from '../kit/rest.ts';"],
    members: [
      'readonly client: RestClient;',
      '',
      'constructor(options: RestClientOptions) {',
      '  this.client = new RestClient(options);',
      '}',
    ],
    call: (read, answer, args) => {
      const input = read.input;
      const path = read.operation.replace(/\{([^}]+)\}/g, (_m, name: string) =>
        input?.in === 'path' && input.name === name ? '${encodeURIComponent(id)}' : `{${name}}`,
      );
      const query: string[] = [];
      if (input?.in === 'query')
        query.push(property(input.name, input.list === 'comma' ? 'valid.join(",")' : input.list ? '[...ids]' : 'id'));
      if (read.limit && args.limit) query.push(property(read.limit.name, 'limit'));
      const quoted = path.includes('${') ? `\`${path}\`` : `'${path}'`;
      // A read by id answers 404 for an id that names nothing: null. Any other 404 (a wrong route) is an error.
      const byId = args.id !== undefined && args.ids === undefined && !read.limit;
      const options = byId ? `, { ${query.join(', ')} }, { absentOn404: true }` : query.length > 0 ? `, { ${query.join(', ')} }` : '';
      return `this.client.getJson<${answer}>(${quoted}${options})`;
    },
  };
}

function grpcTransport(model: SubgraphModel): Transport {
  return {
    header: `The ${model.name} gRPC service (schema/proto/${model.contract}, loaded at run time)`,
    imports: [
      "import { credentials, Metadata } from '@grpc/grpc-js';",
      "import { loadService } from '../../lib/proto.ts';",
      "import { createGrpcCaller, unaryMethod, type GrpcCaller, type ServiceClient } from '../kit/grpc.ts';",
      "import type { ResilienceOptions } from '../kit/resilience.ts';",
    ],
    members: [
      'readonly caller: GrpcCaller;',
      'private readonly client: ServiceClient;',
      '',
      'constructor(address: string, options: ResilienceOptions) {',
      `  const Service = loadService(${JSON.stringify(model.contract)}, ${JSON.stringify(model.service)});`,
      '  this.client = new Service(address, credentials.createInsecure());',
      '  this.caller = createGrpcCaller(this.client, options, () => new Metadata());',
      '}',
      '',
      '/** A unary read: idempotent, so retried when the service is unavailable; null on NOT_FOUND. */',
      'private read<T>(method: string, request: object): Promise<T | null> {',
      '  return this.caller.unary<object, T>(unaryMethod<object, T>(this.client, method), request, true);',
      '}',
      '',
      'close(): void {',
      '  this.client.close();',
      '}',
    ],
    call: (read, answer, args) => {
      const request: string[] = [];
      if (read.input) request.push(property(read.input.name, read.input.list ? '[...ids]' : 'id'));
      if (read.limit && args.limit) request.push(property(read.limit.name, 'limit'));
      return `this.read<${answer}>(${JSON.stringify(read.operation)}, { ${request.join(', ')} })`;
    },
  };
}

export function writeDatasource(model: SubgraphModel): string {
  const code = codeName(model.name);
  const transport = model.kind === 'openapi' ? restTransport(model) : grpcTransport(model);
  const methods: string[] = [];
  const loaders: { name: string; type: string; create: string; comment: string }[] = [];
  const many = (read: Read, type: string) => (read.unwrap ? `{ ${key(read.unwrap)}?: ${type}[] | null }` : `${type}[]`);
  const items = (read: Read) => (read.unwrap ? `answer?.${read.unwrap} ?? []` : 'answer ?? []');

  for (const entity of model.entities) {
    const { name } = entity;
    if (entity.byId) {
      const read = entity.byId;
      const answer = read.unwrap ? `{ ${key(read.unwrap)}?: ${name} | null }` : name;
      methods.push(
        `/** ${read.label}: null when there is none. */`,
        `async ${byIdMethod(name)}(id: string): Promise<${name} | null> {`,
        read.unwrap
          ? `  const answer = await ${transport.call(read, answer, { id: 'id' })};`
          : `  return ${transport.call(read, answer, { id: 'id' })};`,
        ...(read.unwrap ? [`  return answer?.${read.unwrap} ?? null;`] : []),
        '}',
        '',
      );
    }
    if (entity.batch) {
      const read = entity.batch;
      const comma = read.input?.list === 'comma';
      methods.push(
        `/** ${read.label}: the ${name} items of \`ids\` that exist, in any order. */`,
        `async ${batchMethod(name)}(ids: readonly string[]): Promise<${name}[]> {`,
        ...(comma
          ? [
              '  // An id the comma-separated list cannot carry (empty, or with a comma) names nothing.',
              "  const valid = ids.filter((id) => id !== '' && !id.includes(','));",
              '  if (valid.length === 0) return [];',
            ]
          : ['  if (ids.length === 0) return [];']),
        `  const answer = await ${transport.call(read, many(read, name), { ids: 'ids' })};`,
        `  return ${items(read)};`,
        '}',
        '',
      );
    }
    loaders.push(
      entity.batch
        ? {
            name: entityLoader(name),
            type: `DataLoader<string, ${name} | null>`,
            create: `new DataLoader<string, ${name} | null>(async (ids) => alignById(ids, await this.${batchMethod(name)}(ids)), { maxBatchSize: ${entity.batch.maxBatch ?? 100} })`,
            comment: `${entity.batch.label}: every load of one tick in one call`,
          }
        : {
            name: entityLoader(name),
            type: `DataLoader<string, ${name} | null>`,
            create: `new DataLoader<string, ${name} | null>((ids) => eachConcurrently(ids, (id) => this.${byIdMethod(name)}(id)))`,
            comment: `${entity.byId!.label} has no batch form: one call per id, all at once`,
          },
    );
  }
  const lists = [...model.entities.flatMap((e) => (e.list ? [{ name: e.name, read: e.list }] : [])), ...model.lists];
  for (const { name, read } of lists) {
    methods.push(
      `/** ${read.label}: the first \`limit\` ${name} items. */`,
      `async ${listMethod(name)}(limit: number): Promise<${name}[]> {`,
      `  const answer = await ${transport.call(read, many(read, name), { limit: 'limit' })};`,
      `  return (${items(read)}).slice(0, limit);`,
      '}',
      '',
    );
  }
  for (const relation of model.relations) {
    const { read, entity } = relation;
    const method = relationLoader(relation);
    methods.push(
      `/** ${read.label}: the ${entity} items of one ${relation.owner}. */`,
      `async ${method}(id: string): Promise<${entity}[]> {`,
      `  const answer = await ${transport.call(read, many(read, entity), { id: 'id' })};`,
      `  return ${items(read)};`,
      '}',
      '',
    );
    loaders.push({
      name: method,
      type: `DataLoader<string, ${entity}[]>`,
      create: `new DataLoader<string, ${entity}[]>((ids) => eachConcurrently(ids, (id) => this.${method}(id)))`,
      comment: `${read.label}: one call per ${relation.owner}, all at once`,
    });
  }

  const kit = [
    ...(model.entities.some((e) => e.batch) ? ['alignById'] : []),
    ...(loaders.some((l) => l.create.includes('eachConcurrently')) ? ['eachConcurrently'] : []),
  ];
  return [
    '/**',
    ` * ${transport.header},`,
    ` * as the ${model.name} subgraph reads it; scaffolded by \`npx interchange subgraph new\`.`,
    ' * Every call goes through the kit (bulkhead, retry of reads,',
    ' * circuit breaker, timeout); entity lookups go through the per-request loaders, so a request',
    ' * makes one batch call (or concurrent calls) per tick, never one call after another.',
    ' */',
    ...[
      ...(loaders.length > 0 ? ["import DataLoader from 'dataloader';"] : []),
      ...(kit.length > 0 ? [`import { ${kit.join(', ')} } from '../kit/arguments.ts';`] : []),
      ...transport.imports,
    ].sort((a, b) => Number(a.includes("'.")) - Number(b.includes("'."))),
    '',
    ...model.enums.flatMap((e) => [`export type ${e.name} = ${e.values.map((v) => JSON.stringify(v.value)).join(' | ')};`, '']),
    ...model.objects.flatMap((o) => [...interfaceLines(o), '']),
    '/** The loaders of one request: a context has its own, so nothing is cached across requests. */',
    `export interface ${code}Loaders {`,
    ...loaders.map((l) => `  ${l.name}: ${l.type};`),
    '}',
    '',
    `export class ${code}Source {`,
    ...transport.members.map((line) => (line ? `  ${line}` : '')),
    '',
    `  createLoaders(): ${code}Loaders {`,
    '    return {',
    ...loaders.flatMap((l) => [`      // ${l.comment}.`, `      ${l.name}: ${l.create},`]),
    '    };',
    '  }',
    '',
    ...methods.map((line) => (line ? `  ${line}` : '')),
    '}',
    '',
  ].join('\n');
}

function interfaceLines(object: ObjectModel): string[] {
  return [
    ...(object.description ? [`/** ${object.description.replaceAll('*/', '* /')} */`] : []),
    `export interface ${object.name} {`,
    ...object.fields.map((f) => `  ${key(f.name)}${f.type.nullable ? '?' : ''}: ${tsType(f.type)};`),
    '}',
  ];
}

function tsType(type: TypeRef): string {
  const named =
    type.kind !== 'scalar'
      ? type.name
      : type.name === 'Boolean'
        ? 'boolean'
        : type.name === 'Int' || type.name === 'Float'
          ? 'number'
          : 'string';
  const full = type.list ? `${named}[]` : named;
  return type.nullable ? `${full} | null` : full;
}
