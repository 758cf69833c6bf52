/**
 * The subgraph's resolvers (subgraphs/<name>/resolvers.ts): root fields and entity references
 * through the request's loaders (the kit's `entityResolvers` where the entity also has a list),
 * relations through their loaders, `<x>Id` fields as references to entity `X`, and, for REST, the
 * enums' GraphQL names mapped to the values the backend sends.
 */
import { codeName, entityLoader, listMethod, relationLoader, type ReferenceModel, type SubgraphModel } from './model.ts';

/** The resolver of an `<x>Id` field's reference (`parent` is its object's type): the representation `{ __typename, id }` its own subgraph resolves. */
export function referenceResolver(parent: string, ref: ReferenceModel): string {
  const value = `({ __typename: ${JSON.stringify(ref.entity)}, id })`;
  return ref.list
    ? `${ref.field}: (parent: ${parent}) => parent.${ref.idField}${ref.nullable ? '?' : ''}.map((id) => ${value})${ref.nullable ? ' ?? null' : ''},`
    : `${ref.field}: ({ ${ref.idField}: id }: ${parent}) => ${ref.nullable ? `(id ? ${value} : null)` : value},`;
}

/** A stub's reference resolver: only its id is known here. */
export const stubResolver = [
  '// Only its id is known here: the reference is the entity.',
  '__resolveReference: (ref: { id: string }) => ref,',
];

export function writeResolvers(model: SubgraphModel): string {
  const code = codeName(model.name);
  const context = `${code}Context`;
  const types = new Set<string>();
  const use = (type: string) => {
    types.add(type);
    return type;
  };
  const kit = new Set<string>();
  const prelude: string[] = [];
  const map = new Map<string, string[]>();
  const add = (type: string, ...entries: string[]) => map.set(type, [...(map.get(type) ?? []), ...entries]);

  for (const entity of model.entities) {
    const local = entityLoader(entity.name);
    if (entity.list) {
      kit.add('entities');
      prelude.push(
        `const ${local} = entityResolvers<${use(entity.name)}, ${context}>({`,
        `  loader: (ctx) => ctx.${local},`,
        `  list: (ctx, count) => ctx.source.${listMethod(entity.name)}(count),`,
        '});',
        '',
      );
      add('Query', `${entity.rootOne}: ${local}.byId,`, `${entity.rootList}: ${local}.list,`);
      add(entity.name, `__resolveReference: ${local}.reference,`);
    } else {
      add('Query', `${entity.rootOne}: (_root: unknown, { id }: { id: string }, ctx: ${context}) => ctx.${local}.load(id),`);
      add(entity.name, `__resolveReference: (ref: { id: string }, ctx: ${context}) => ctx.${local}.load(ref.id),`);
    }
  }
  for (const list of model.lists) {
    kit.add('arguments');
    add(
      'Query',
      `${list.rootList}: (_root: unknown, { first }: { first: number }, ctx: ${context}) => ctx.source.${listMethod(list.name)}(pageSize(first)),`,
    );
  }
  for (const object of model.objects) {
    for (const ref of object.references) add(object.name, referenceResolver(use(object.name), ref));
  }
  for (const stub of model.stubs) add(stub, ...stubResolver);
  for (const relation of model.relations) {
    add(
      relation.owner,
      `${relation.field}: (parent: { id: string }, _args: unknown, ctx: ${context}) => ctx.${relationLoader(relation)}.load(parent.id),`,
    );
  }
  if (model.kind === 'openapi') {
    for (const enumeration of model.enums) {
      if (enumeration.values.every((v) => v.name === v.value)) continue;
      add(enumeration.name, ...enumeration.values.map((v) => `${v.name}: ${JSON.stringify(v.value)},`));
    }
  }
  return [
    "import type { GraphQLResolverMap } from '@apollo/subgraph';",
    ...(kit.has('arguments') ? ["import { pageSize } from '../kit/arguments.ts';"] : []),
    ...(kit.has('entities') ? ["import { entityResolvers } from '../kit/entities.ts';"] : []),
    `import type { ${[...types].sort().concat(`${code}Loaders`, `${code}Source`).join(', ')} } from './datasource.ts';`,
    '',
    "/** A request's context: the source, and the request's own loaders (batching without caching across requests). */",
    `export interface ${context} extends ${code}Loaders {`,
    `  source: ${code}Source;`,
    '}',
    '',
    ...prelude,
    `export const resolvers: GraphQLResolverMap<${context}> = {`,
    ...[...map].flatMap(([type, entries]) => [`  ${type}: {`, ...entries.map((e) => `    ${e}`), '  },']),
    '};',
    '',
  ].join('\n');
}
