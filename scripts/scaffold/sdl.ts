/**
 * The subgraph's SDL (schema/subgraphs/<name>.graphql) from the model: root fields for the reads,
 * entities with `@key(fields: "id")`, the one-to-many relations on their owners (stubs of other
 * subgraphs' entities where the owner is not here), and the enums.
 */
import type { FieldModel, ReferenceModel, SubgraphModel, TypeRef } from './model.ts';

const FEDERATION = 'https://specs.apollo.dev/federation/v2.9';

export function writeSdl(model: SubgraphModel, contractPath: string): string {
  const entities = new Set(model.entities.map((e) => e.name));
  const lines: string[] = [
    `# The ${model.name} subgraph, scaffolded from ${contractPath} by \`npx interchange subgraph new\`.`,
    `# Reads go to the ${model.name} backend through subgraphs/${model.name}/datasource.ts; edit freely.`,
    `extend schema @link(url: "${FEDERATION}", import: ["@key"${model.entities.some((e) => e.list) || model.lists.length > 0 ? ', "@listSize"' : ''}])`,
    '',
  ];
  const root = [
    ...model.entities.map((e) => [
      description(`One ${e.name} by id (${(e.byId ?? e.batch)!.label}); null when there is none.`),
      `${e.rootOne}(id: ID!): ${e.name}`,
    ]),
    ...[...model.entities.flatMap((e) => (e.list ? [{ name: e.name, rootList: e.rootList, read: e.list }] : [])), ...model.lists].map(
      (l) => [
        description(`The first ${l.rootList} (${l.read.label}). \`first\` must be between 1 and 100.`),
        `${l.rootList}(first: Int = 20): [${l.name}!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)`,
      ],
    ),
  ];
  if (root.length > 0) lines.push('type Query {', ...root.flat().map(indent), '}', '');

  for (const object of model.objects) {
    if (object.description) lines.push(description(object.description));
    lines.push(`type ${object.name}${entities.has(object.name) ? ' @key(fields: "id")' : ''} {`);
    for (const field of object.fields) lines.push(...fieldLines(field).map(indent));
    for (const reference of object.references) lines.push(...referenceLines(reference).map(indent));
    lines.push(...relationLines(model, object.name).map(indent), '}', '');
  }
  for (const stub of model.stubs) lines.push(...stubLines(stub, relationLines(model, stub)), '');
  for (const enumeration of model.enums)
    lines.push(`enum ${enumeration.name} {`, ...enumeration.values.map((v) => indent(v.name)), '}', '');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The field an `<x>Id` field gives: `x: X`, described. */
export function referenceLines(reference: ReferenceModel): string[] {
  const type = reference.list ? `[${reference.entity}!]` : reference.entity;
  return [
    description(`The ${reference.entity} of \`${reference.idField}\`.`),
    `${reference.field}: ${type}${reference.nullable ? '' : '!'}`,
  ];
}

/** Another subgraph's entity, keyed by `id`, with the fields this subgraph adds to it. */
export function stubLines(stub: string, fields: string[]): string[] {
  return [
    `# ${stub} is another subgraph's entity: this subgraph adds what relates to it.`,
    `type ${stub} @key(fields: "id") {`,
    indent('id: ID!'),
    ...fields.map(indent),
    '}',
  ];
}

/** A one-to-many relation on its owner: `<field>: [<Entity>!]!`, saying where its items come from (`how`). */
export const relationFieldLines = (owner: string, field: string, entity: string, how: string) => [
  description(`The ${entity} items of this ${owner} (${how}).`),
  `${field}: [${entity}!]!`,
];

function relationLines(model: SubgraphModel, owner: string): string[] {
  return model.relations.filter((r) => r.owner === owner).flatMap((r) => relationFieldLines(owner, r.field, r.entity, r.read.label));
}

function fieldLines(field: FieldModel): string[] {
  return [...(field.description ? [description(field.description)] : []), `${field.name}: ${typeText(field.type)}`];
}

export function typeText(type: TypeRef): string {
  const named = type.list ? `[${type.name}!]` : type.name;
  return type.nullable ? named : `${named}!`;
}

/** A one-line GraphQL description (JSON's string escapes are GraphQL's). */
const description = (text: string) => JSON.stringify(text);

const indent = (line: string) => `  ${line}`;
