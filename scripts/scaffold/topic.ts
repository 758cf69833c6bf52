/**
 * `--from-topic`: a projection subgraph from a topic's event schemas (the convention is
 * subgraphs/kit/projection/event-schemas.ts's, which the generated subgraph also reads at run time).
 * It writes the SDL (the entity keyed by its key field, one query by key, a list, a resumable
 * subscription of the events), resolvers over the kit's topic projection, index.ts, main.ts and a test.
 * It joins the entity to the supergraph by the other modes' rule (model.ts): a string property
 * `<x>Id` naming an entity X of another subgraph gives a reference `x: X` and, on X, the list of
 * the entities whose property is its id (a secondary index of the projection).
 */
import {
  EventSchemaError,
  readEventSchemas,
  type EventContract,
  type FieldShape,
  type Shape,
} from '../../subgraphs/kit/projection/event-schemas.ts';
import {
  ContractError,
  camelCase,
  codeName,
  configName,
  entityOfId,
  pascalCase,
  plural,
  singular,
  typeNameProblem,
  type ReferenceModel,
} from './model.ts';
import { referenceResolver, stubResolver } from './resolvers.ts';
import { referenceLines, relationFieldLines, stubLines } from './sdl.ts';

export interface TopicModel {
  /** The subgraph's name (`inventory`). */
  name: string;
  topic: string;
  contract: EventContract;
  /** The entity's type (`StockLevel`) and its event type (`StockLevelEvent`). */
  entity: string;
  eventType: string;
  /** Root fields: `stockLevel(id:)`, `stockLevels(first:, after:)`, `stockLevelEvents(after:)`. */
  rootOne: string;
  rootList: string;
  subscription: string;
  /** Object types of nested objects: the SDL's name for each, with its fields and the property names leading to it. */
  objects: { name: string; fields: FieldShape[]; path: string[] }[];
  /** Each field's GraphQL type, by `<Type>.<field>`. */
  types: Map<string, string>;
  /** `<x>Id` properties naming an entity of another subgraph: each a field `<x>` of the entity referring to it. */
  references: ReferenceModel[];
  /** What those give their entities: `<owner>.<field>` lists the entities whose `property` is the owner's id. */
  relations: { owner: string; field: string; property: string }[];
  /** The other subgraphs' entities it refers to: stubs keyed by `id`. */
  stubs: string[];
  /** What it did not join, with why, for the report. */
  skipped: string[];
}

/** The supergraph's entities keyed by `id`, by name, with the fields its subgraphs give each (scripts/scaffold/registry.ts). */
export type ExistingEntities = ReadonlyMap<string, ReadonlySet<string>>;

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * Reads the event schemas in `dir`; a construct it cannot map is a ContractError naming the file and
 * the JSON pointer. `existing`: the entities it may join to (none by default).
 */
export function readTopic(dir: string, name: string, topic: string, existing: ExistingEntities = new Map()): TopicModel {
  if (!TOPIC.test(topic) || topic === '.' || topic === '..')
    throw new ContractError(`--from-topic ${topic}`, 'not a Kafka topic name (letters, digits, ".", "_" and "-", at most 249)');
  let contract: EventContract;
  try {
    contract = readEventSchemas(dir);
  } catch (err) {
    if (err instanceof EventSchemaError) throw new ContractError(err.where, err.problem);
    throw err;
  }
  const entity = contract.entity ?? pascalCase(singular(name));
  const problem = typeNameProblem(entity);
  if (problem) throw new ContractError(contract.entity ? `${contract.types[0]!.file}#/x-entity` : `the subgraph name ${name}`, problem);
  const rootOne = camelCase(entity);
  const model: TopicModel = {
    name,
    topic,
    contract,
    entity,
    eventType: `${entity}Event`,
    rootOne,
    rootList: plural(rootOne),
    subscription: `${rootOne}Events`,
    objects: [],
    types: new Map(),
    references: [],
    relations: [],
    stubs: [],
    skipped: [],
  };
  typeFields(model, entity, contract.fields, []);
  for (const field of contract.fields) if (field.name === contract.key) model.types.set(`${entity}.${field.name}`, 'ID!');
  refuseTypeCollisions(model);
  joinSupergraph(model, existing);
  return model;
}

/**
 * A top-level string property `<x>Id` (not the key) naming an existing entity X gives a reference
 * `x: X` (nullable as the property is) and the relation `X.<entities>` by that property; a property
 * naming no existing entity stays a plain field. A name either would take already is left alone.
 */
function joinSupergraph(model: TopicModel, existing: ExistingEntities): void {
  for (const field of model.contract.fields) {
    if (field.name === model.contract.key || field.shape.kind !== 'scalar' || field.shape.scalar !== 'string') continue;
    const target = entityOfId(field.name);
    const fields = target === undefined ? undefined : existing.get(target);
    if (!target || !fields || target === model.entity) continue;
    const reference = camelCase(target);
    if (model.contract.fields.some((f) => f.name === reference) || model.references.some((r) => r.field === reference)) {
      model.skipped.push(`${field.name}: ${model.entity} has a field '${reference}' already: no reference to ${target}`);
      continue;
    }
    const type = model.types.get(`${model.entity}.${field.name}`)!;
    model.references.push({ field: reference, idField: field.name, entity: target, list: false, nullable: !type.endsWith('!') });
    if (!model.stubs.includes(target)) model.stubs.push(target);
    if (fields.has(model.rootList) || model.relations.some((r) => r.owner === target)) {
      model.skipped.push(`${field.name}: ${target} has a field '${model.rootList}' already: no relation from ${target}`);
      continue;
    }
    model.relations.push({ owner: target, field: model.rootList, property: field.name });
  }
}

/** Refuses a nested object whose type name (`<Type><Field>`) is reserved or another type's, naming the property. */
function refuseTypeCollisions(model: TopicModel): void {
  const taken = new Map([
    [model.entity, 'the entity'],
    [model.eventType, 'the event type'],
  ]);
  for (const object of model.objects) {
    const file = model.contract.types.find((t) => object.path[0]! in (t.schema['properties'] as Record<string, unknown>))!.file;
    const where = `${file}#${object.path.map((name) => `/properties/${name}`).join('')}`;
    const problem = typeNameProblem(object.name);
    if (problem) throw new ContractError(where, `its object type would be ${object.name}: ${problem}`);
    const other = taken.get(object.name);
    if (other) throw new ContractError(where, `its object type would be ${object.name}, the name of ${other}: rename the property`);
    taken.set(object.name, `the object type of ${object.path.join('.')}`);
  }
}

/** Records the GraphQL type of each field of `type`, naming nested objects `<Type><Field>`. */
function typeFields(model: TopicModel, type: string, fields: FieldShape[], path: string[]): void {
  for (const field of fields)
    model.types.set(
      `${type}.${field.name}`,
      typeOf(model, `${type}${pascalCase(field.name)}`, field.shape, field.required, [...path, field.name]),
    );
  if (path.length > 0) model.objects.push({ name: type, fields, path });
}

function typeOf(model: TopicModel, objectName: string, shape: Shape, required: boolean, path: string[]): string {
  const nonNull = (text: string) => (required && !shape.nullable ? `${text}!` : text);
  switch (shape.kind) {
    case 'scalar':
      // GraphQL's Int is 32 bits: a larger integer would fail to serialise, so an integer not bounded within them is a Float.
      return nonNull({ string: 'String', integer: shape.int32 ? 'Int' : 'Float', number: 'Float', boolean: 'Boolean' }[shape.scalar]);
    case 'list':
      return nonNull(`[${typeOf(model, objectName, shape.of, true, path)}]`);
    case 'object':
      typeFields(model, objectName, shape.fields, path);
      return nonNull(objectName);
  }
}

const FEDERATION = 'https://specs.apollo.dev/federation/v2.9';
const description = (text: string) => JSON.stringify(text);
const indent = (line: string) => `  ${line}`;

export function writeTopicSdl(model: TopicModel, schemasPath: string): string {
  const { entity, contract } = model;
  const fieldLines = (type: string, fields: FieldShape[]) =>
    fields
      .flatMap((f) => [...(f.description ? [description(f.description)] : []), `${f.name}: ${model.types.get(`${type}.${f.name}`)!}`])
      .map(indent);
  const lines = [
    `# The ${model.name} subgraph: a projection of the topic \`${model.topic}\`, scaffolded from ${schemasPath} by`,
    '# `npx interchange subgraph new --from-topic`. Each event upserts the entity of its key (its fields',
    '# merged in, newest wins); an event its schema refuses is dead-lettered. Edit freely.',
    'extend schema',
    `  @link(url: "${FEDERATION}", import: ["@key", "@composeDirective", "@listSize"])`,
    '  @link(url: "https://interchange.dev/resumable/v1.0", import: ["@resumable"])',
    '  @composeDirective(name: "@resumable")',
    '',
    '"A resumable subscription field (schema/resumable.md)."',
    'directive @resumable(position: String!, argument: String!) on FIELD_DEFINITION',
    '',
    'type Query {',
    indent(description(`One ${entity} by its ${contract.key}; null when the projection has seen no event of it.`)),
    indent(`${model.rootOne}(id: ID!): ${entity}`),
    indent(description(`${entity} items by ${contract.key}, the first \`first\` (1 to 100) after the ${contract.key} \`after\`.`)),
    indent(
      `${model.rootList}(first: Int = 20, after: ID): [${entity}!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)`,
    ),
    '}',
    '',
    'type Subscription {',
    indent(description(`The events of ${model.topic} as the projection applies them.`)),
    indent(`${model.subscription}(`),
    indent(indent(description("Resume after this position (an event's `cursor`): the retained events after it, then live ones."))),
    indent(indent('after: String')),
    indent(`): ${model.eventType}! @resumable(position: "cursor", argument: "after")`),
    '}',
    '',
    `"An event of ${model.topic}, as the projection applied it."`,
    `type ${model.eventType} {`,
    indent(description("The stream's position right after this event: pass it as `after` to resume after it.")),
    indent('cursor: String!'),
    indent(description("The event's own id.")),
    indent('id: ID!'),
    indent(description(`Its type: ${contract.types.map((t) => t.type).join(', ')}.`)),
    indent('type: String!'),
    ...(contract.occurredAt ? [indent(description('When the event happened, when it says.')), indent('occurredAt: String')] : []),
    indent(description(`The ${entity} as of this event.`)),
    indent(`${model.rootOne}: ${entity}!`),
    '}',
    '',
    `type ${entity} @key(fields: "${contract.key}") {`,
    ...fieldLines(entity, contract.fields),
    ...model.references.flatMap(referenceLines).map(indent),
    '}',
    ...model.objects.flatMap((object) => ['', `type ${object.name} {`, ...fieldLines(object.name, object.fields), '}']),
    ...model.stubs.flatMap((stub) => [
      '',
      ...stubLines(
        stub,
        model.relations
          .filter((r) => r.owner === stub)
          .flatMap((r) => relationFieldLines(stub, r.field, entity, `by \`${r.property}\`, from the projection`)),
      ),
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

export function writeTopicResolvers(model: TopicModel): string {
  const context = `${codeName(model.name)}Context`;
  const event = 'StreamedEvent<TopicEntity, TopicEvent>';
  return [
    "import type { GraphQLResolverMap } from '@apollo/subgraph';",
    "import type { EventStreams, StreamedEvent } from '../kit/projection/stream.ts';",
    "import type { TopicEntity, TopicEvent, TopicProjection } from '../kit/projection/topic.ts';",
    "import { resumeRequest } from '../kit/resumable.ts';",
    "import type { SubgraphRequest } from '../kit/subgraph.ts';",
    '',
    `export interface ${context} {`,
    '  projection: TopicProjection;',
    '  events: EventStreams<TopicEntity, TopicEvent>;',
    "  /** The request's `extensions`: `extensions.resumable` says where a subscription starts (schema/resumable.md). */",
    "  extensions: SubgraphRequest['extensions'];",
    '}',
    '',
    `export const resolvers: GraphQLResolverMap<${context}> = {`,
    '  Query: {',
    `    ${model.rootOne}: (_root: unknown, { id }: { id: string }, ctx: ${context}) => ctx.projection.get(id) ?? null,`,
    `    ${model.rootList}: (_root: unknown, { first, after }: { first: number; after?: string | null }, ctx: ${context}) =>`,
    '      ctx.projection.page(first, after),',
    '  },',
    '  Subscription: {',
    `    ${model.subscription}: {`,
    '      // Resumable (@resumable(position: "cursor", argument: "after")): extensions.resumable wins over `after`.',
    `      subscribe: (_root: unknown, args: { after?: string | null }, ctx: ${context}) => {`,
    '        const from = resumeRequest(ctx.extensions, args.after);',
    '        return ctx.events.open({ after: from.after ?? undefined, until: from.until, checkpoints: from.viaExtension });',
    '      },',
    '      // A stream ends with an error as its last value: thrown here, it reaches the client as an errors result.',
    `      resolve: (item: ${event} | Error) => {`,
    '        if (item instanceof Error) throw item;',
    '        return item;',
    '      },',
    '    },',
    '  },',
    `  ${model.eventType}: {`,
    `    ${model.rootOne}: (item: ${event}) => item.entity,`,
    '  },',
    `  ${model.entity}: {`,
    `    __resolveReference: (ref: { ${model.contract.key}: string | number }, ctx: ${context}) => ctx.projection.get(String(ref.${model.contract.key})) ?? null,`,
    ...model.references.map((ref) => `    ${referenceResolver('TopicEntity', ref)}`),
    '  },',
    ...model.stubs.flatMap((stub) => [
      `  ${stub}: {`,
      ...stubResolver.map((line) => `    ${line}`),
      ...model.relations
        .filter((r) => r.owner === stub)
        .map(
          (r) =>
            `    ${r.field}: (parent: { id: string }, _args: unknown, ctx: ${context}) => ctx.projection.listedBy(${JSON.stringify(r.property)}, parent.id),`,
        ),
      '  },',
    ]),
    '};',
    '',
  ].join('\n');
}

export function writeTopicIndex(model: TopicModel): string {
  const code = codeName(model.name);
  const config = configName(model.name);
  return [
    `/** The ${model.name} subgraph: a projection of the topic ${model.topic} (schema/events/${model.name}/); scaffolded by \`npx interchange subgraph new --from-topic\`. */`,
    "import { z } from 'zod';",
    "import type { EventLog } from '../../lib/eventlog/types.ts';",
    "import type { Logger } from '../../lib/logger.ts';",
    "import { subgraphConfig } from '../kit/config.ts';",
    "import { createTopicSubgraph, topicSettings } from '../kit/projection/topic-subgraph.ts';",
    "import { loadSubgraphSdl, type SubgraphModule } from '../kit/subgraph.ts';",
    `import { resolvers, type ${code}Context } from './resolvers.ts';`,
    '',
    `export const ${config} = subgraphConfig({`,
    '  ...topicSettings,',
    '  /** The topic it projects. */',
    `  TOPIC: z.string().min(1).default(${JSON.stringify(model.topic)}),`,
    '});',
    '',
    `export type ${code}Config = z.output<typeof ${config}>;`,
    '',
    "/** `eventLog`, when given, is used instead of the configured one (tests); it stays the caller's. */",
    `export function create${code}Subgraph(config: ${code}Config, log: Logger, eventLog?: EventLog): SubgraphModule<${code}Context> {`,
    `  const topic = createTopicSubgraph(config, log, {`,
    `    name: ${JSON.stringify(model.name)},`,
    `    entity: ${JSON.stringify(model.entity)},`,
    `    entities: ${JSON.stringify(model.rootList)},`,
    `    field: ${JSON.stringify(model.subscription)},`,
    ...(model.relations.length > 0
      ? [
          `    // Listed by ${model.relations.map((r) => r.property).join(', ')}: ${model.relations.map((r) => `${r.owner}.${r.field}`).join(', ')}.`,
          `    indexes: ${JSON.stringify(model.relations.map((r) => r.property))},`,
        ]
      : []),
    '    eventLog,',
    '  });',
    '  return {',
    `    name: ${JSON.stringify(model.name)},`,
    `    typeDefs: loadSubgraphSdl(${JSON.stringify(model.name)}),`,
    '    resolvers,',
    '    createContext: (request) => ({',
    '      projection: topic.runtime.projector.projection,',
    '      events: topic.runtime.streams,',
    '      extensions: request.extensions,',
    '    }),',
    '    upstreams: {},',
    '    registry: topic.registry,',
    '    opsRoutes: topic.opsRoutes,',
    '    start: topic.start,',
    '    readiness: topic.readiness,',
    '    close: topic.close,',
    '  };',
    '}',
    '',
  ].join('\n');
}

/** A test that the subgraph builds and projects: events published to an embedded log are served by the queries. */
export function writeTopicTest(model: TopicModel): string {
  const code = codeName(model.name);
  const config = configName(model.name);
  const { contract } = model;
  const [first] = contract.types;
  const keyValue = contract.keyScalar === 'integer' ? 1 : 'k1';
  const valid = { ...(example(first!.schema) as Record<string, unknown>), [contract.id]: 'e1', [contract.key]: keyValue };
  const invalid = Object.fromEntries(Object.entries(valid).filter(([name]) => name !== contract.id));
  return [
    `/** The scaffolded ${model.name} subgraph: it builds, projects the events of its topic, and dead-letters an event its schema refuses. */`,
    "import assert from 'node:assert/strict';",
    "import { mkdtemp, rm } from 'node:fs/promises';",
    "import { tmpdir } from 'node:os';",
    "import { join } from 'node:path';",
    "import { setTimeout as sleep } from 'node:timers/promises';",
    "import { test } from 'node:test';",
    "import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';",
    "import { MemoryEventLog } from '../../lib/eventlog/memory.ts';",
    "import { createLogger } from '../../lib/logger.ts';",
    `import { create${code}Subgraph, ${config} } from './index.ts';`,
    '',
    `test('the ${model.name} subgraph builds and serves what its topic says', { timeout: 30_000 }, async () => {`,
    `  const dir = await mkdtemp(join(tmpdir(), ${JSON.stringify(`${model.name}-test-`)}));`,
    '  const log = new MemoryEventLog();',
    `  const config = ${config}.parse({ IDENTITY_SECRET: 'x'.repeat(32), DATA_DIR: dir });`,
    `  const module = create${code}Subgraph(config, createLogger(${JSON.stringify(`${model.name}-subgraph`)}, 'silent'), log);`,
    '  try {',
    '    const resolvers = module.resolvers as GraphQLResolverMap<unknown>;',
    '    const schema = buildSubgraphSchema([{ typeDefs: module.typeDefs, resolvers }]);',
    `    for (const field of ${JSON.stringify([model.rootOne, model.rootList])}) assert.ok(schema.getQueryType()?.getFields()[field], \`Query.\${field} is missing\`);`,
    `    assert.ok(schema.getSubscriptionType()?.getFields()[${JSON.stringify(model.subscription)}]);`,
    '    await module.start?.();',
    `    // A ${first!.type} with what ${commentText(first!.file)} requires (example values: edit them where its constraints want others); the invalid one lacks the id.`,
    `    const event: Record<string, unknown> = ${JSON.stringify(valid)};`,
    `    const invalid: Record<string, unknown> = ${JSON.stringify(invalid)};`,
    `    await log.publish(config.TOPIC, [event, invalid].map((e) => ({ key: String(e[${JSON.stringify(contract.key)}]), value: JSON.stringify(e) })));`,
    '    const context = module.createContext({ headers: {}, extensions: {}, principal: undefined as never });',
    '    const deadLettered = async () => (await log.endOffsets(`${config.TOPIC}.dlq`)).reduce((a, b) => a + b, 0);',
    '    for (let waited = 0; context.projection.size === 0 || (await deadLettered()) === 0; waited += 20) {',
    "      assert.ok(waited < 10_000, 'the projection never handled the events');",
    '      await sleep(20);',
    '    }',
    `    assert.equal(context.projection.get(${JSON.stringify(String(keyValue))})?.[${JSON.stringify(contract.key)}], ${JSON.stringify(keyValue)});`,
    '    assert.equal(context.projection.page(10).length, 1);',
    "    assert.equal(await deadLettered(), 1, 'the invalid event was dead-lettered');",
    '  } finally {',
    '    await module.close?.();',
    '    await log.close();',
    '    await rm(dir, { recursive: true, force: true });',
    '  }',
    '});',
    '',
  ].join('\n');
}

/** Text for a `//` comment: quoted, with every line terminator escaped (a file name may hold any). */
const commentText = (text: string) => JSON.stringify(text).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** A value for a schema, with its required properties only: its `const`, first `enum` value, or a plain one of its type. */
function example(schema: unknown): unknown {
  const s = (schema ?? {}) as Record<string, unknown>;
  if ('const' in s) return s['const'];
  if (Array.isArray(s['enum'])) return s['enum'][0];
  const type = Array.isArray(s['type']) ? (s['type'] as unknown[]).find((t) => t !== 'null') : s['type'];
  const least = typeof s['minimum'] === 'number' ? s['minimum'] : 1;
  switch (type) {
    case 'string':
      return s['format'] === 'date-time' ? '2026-01-01T00:00:00Z' : 'x'.repeat(Math.max(1, Number(s['minLength'] ?? 1)));
    case 'integer':
    case 'number':
      return least;
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: Number(s['minItems'] ?? 0) }, () => example(s['items']));
    case 'object': {
      const properties = (s['properties'] ?? {}) as Record<string, unknown>;
      const required = Array.isArray(s['required']) ? (s['required'] as string[]) : [];
      return Object.fromEntries(required.map((name) => [name, example(properties[name])]));
    }
    default:
      return null;
  }
}
