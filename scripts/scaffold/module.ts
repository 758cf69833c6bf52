/**
 * The rest of the subgraph's folder: `index.ts` (its config and `create<Name>Subgraph`), `main.ts`
 * (one line on the kit) and a test that its SDL and resolvers build into a subgraph schema with a
 * resolver for every root field and entity.
 */
import { codeName, configName, serviceSetting, upstreamName, type SubgraphModel } from './model.ts';

export function writeIndex(model: SubgraphModel): string {
  const code = codeName(model.name);
  const config = configName(model.name);
  const setting = serviceSetting(model);
  const upstream = JSON.stringify(upstreamName(model.name));
  const rest = model.kind === 'openapi';
  return [
    `/** The ${model.name} subgraph, over ${rest ? `the REST service of schema/openapi/${model.contract}` : `the gRPC service of schema/proto/${model.contract}`}; scaffolded by \`npx interchange subgraph new\`. */`,
    rest ? "import type { z } from 'zod';" : "import { z } from 'zod';",
    ...(rest ? ["import { setting } from '../../lib/config.ts';"] : []),
    "import type { Logger } from '../../lib/logger.ts';",
    "import { resilienceFrom, subgraphConfig } from '../kit/config.ts';",
    "import { loadSubgraphSdl, type SubgraphModule } from '../kit/subgraph.ts';",
    `import { ${code}Source } from './datasource.ts';`,
    `import { resolvers, type ${code}Context } from './resolvers.ts';`,
    '',
    `export const ${config} = subgraphConfig({`,
    rest ? `  /** Base URL of the ${model.name} REST service. */` : `  /** host:port of the ${model.name} gRPC service. */`,
    rest ? `  ${setting}: setting.url(),` : `  ${setting}: z.string().regex(/^[^\\s:]+:\\d{1,5}$/, 'expected host:port'),`,
    '});',
    '',
    `export type ${code}Config = z.output<typeof ${config}>;`,
    '',
    `export function create${code}Subgraph(config: ${code}Config, _log: Logger): SubgraphModule<${code}Context> {`,
    rest
      ? `  const source = new ${code}Source({ ...resilienceFrom(config, ${upstream}), baseUrl: config.${setting} });`
      : `  const source = new ${code}Source(config.${setting}, resilienceFrom(config, ${upstream}));`,
    '  return {',
    `    name: ${JSON.stringify(model.name)},`,
    `    typeDefs: loadSubgraphSdl(${JSON.stringify(model.name)}),`,
    '    resolvers,',
    '    createContext: () => ({ source, ...source.createLoaders() }),',
    `    upstreams: { ${upstream}: source.${rest ? 'client' : 'caller'}.policy },`,
    ...(rest ? [] : ['    close: async () => source.close(),']),
    '  };',
    '}',
    '',
  ].join('\n');
}

export function writeMain(model: Pick<SubgraphModel, 'name'>): string {
  const code = codeName(model.name);
  const config = configName(model.name);
  return [
    "import { runSubgraphMain } from '../kit/main.ts';",
    `import { create${code}Subgraph, ${config} } from './index.ts';`,
    '',
    `runSubgraphMain(${JSON.stringify(model.name)}, ${config}, create${code}Subgraph);`,
    '',
  ].join('\n');
}

export function writeTest(model: SubgraphModel): string {
  const code = codeName(model.name);
  const config = configName(model.name);
  const rootFields = [
    ...model.entities.flatMap((e) => [e.rootOne, ...(e.list ? [e.rootList] : [])]),
    ...model.lists.map((l) => l.rootList),
  ];
  const references = [...model.entities.map((e) => e.name), ...model.stubs];
  const relations = model.relations.map((r) => `${r.owner}.${r.field}`);
  const backend = model.kind === 'openapi' ? 'http://127.0.0.1:1' : '127.0.0.1:1';
  return [
    `/** The scaffolded ${model.name} subgraph: its SDL and resolvers build into a subgraph schema, with a resolver for every read. */`,
    "import assert from 'node:assert/strict';",
    "import { test } from 'node:test';",
    "import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';",
    "import { createLogger } from '../../lib/logger.ts';",
    `import { create${code}Subgraph, ${config} } from './index.ts';`,
    '',
    `test('the ${model.name} subgraph builds, with a resolver for every root field, entity reference and relation', { timeout: 30_000 }, async () => {`,
    `  const config = ${config}.parse({ IDENTITY_SECRET: 'x'.repeat(32), ${serviceSetting(model)}: ${JSON.stringify(backend)} });`,
    `  const module = create${code}Subgraph(config, createLogger(${JSON.stringify(`${model.name}-subgraph`)}, 'silent'));`,
    '  try {',
    '    const resolvers = module.resolvers as GraphQLResolverMap<unknown>;',
    '    const schema = buildSubgraphSchema([{ typeDefs: module.typeDefs, resolvers }]);',
    '    const resolverOf = (type: string, field: string) => (resolvers[type] as Record<string, unknown> | undefined)?.[field];',
    `    for (const field of ${JSON.stringify(rootFields)}) {`,
    '      assert.ok(schema.getQueryType()?.getFields()[field], `Query.${field} is missing`);',
    "      assert.equal(typeof resolverOf('Query', field), 'function', `Query.${field} has no resolver`);",
    '    }',
    `    for (const entity of ${JSON.stringify(references)}) {`,
    "      assert.equal(typeof resolverOf(entity, '__resolveReference'), 'function', `${entity} has no reference resolver`);",
    '    }',
    `    for (const coordinate of ${JSON.stringify(relations)}) {`,
    "      const [type, field] = coordinate.split('.') as [string, string];",
    "      assert.equal(typeof resolverOf(type, field), 'function', `${coordinate} has no resolver`);",
    '    }',
    '  } finally {',
    '    await module.close?.();',
    '  }',
    '});',
    '',
  ].join('\n');
}
