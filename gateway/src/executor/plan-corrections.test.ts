/**
 * The plan corrections against the planner's known defects: each defect's query is planned by
 * @apollo/query-planner, corrected, and run by stock `executeQueryPlan` against the real subgraphs
 * over HTTP; the answer must be the correct one (test/differential/supergraphs/defects.ts). Plans
 * the defects do not touch (every case of the other differential supergraphs) come back unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { operationFromDocument, Supergraph, type Operation } from '@apollo/federation-internals';
import { buildOperationContext, executeQueryPlan, RemoteGraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { parse, print, stripIgnoredCharacters, type GraphQLSchema } from 'graphql';
import { compose, SubgraphServer, type Result, type SupergraphDef } from '../../../test/differential/harness.ts';
import { defects } from '../../../test/differential/supergraphs/defects.ts';
import { SUPERGRAPHS } from '../../../test/differential/supergraphs/index.ts';
import { correctPlan } from './plan-corrections.ts';

const TIMEOUT = { timeout: 30_000 };

/** The fetches of a plan, in the order they appear in it. */
function fetches(plan: QueryPlan): FetchNode[] {
  const visit = (node: PlanNode | undefined): FetchNode[] => {
    if (!node) return [];
    if (node.kind === 'Fetch') return [node];
    if (node.kind === 'Flatten') return visit(node.node);
    if (node.kind === 'Sequence' || node.kind === 'Parallel') return node.nodes.flatMap(visit);
    return [];
  };
  return plan.node?.kind === 'Subscription' ? [] : visit(plan.node);
}

/** A supergraph, its planner, and stock's executor over its subgraphs. */
class Federation {
  readonly supergraph: Supergraph;
  private readonly planner: QueryPlanner;
  private readonly apiSchema: GraphQLSchema;
  private readonly supergraphSchema: GraphQLSchema;
  private readonly services: ServiceMap;

  constructor(def: SupergraphDef, server: SubgraphServer) {
    this.supergraph = Supergraph.build(compose(def, server));
    this.planner = new QueryPlanner(this.supergraph);
    this.apiSchema = this.supergraph.apiSchema().toGraphQLJSSchema();
    this.supergraphSchema = this.supergraph.schema.toGraphQLJSSchema();
    this.services = Object.fromEntries(
      def.subgraphs.map((s) => [s.name, new RemoteGraphQLDataSource({ url: server.url(def.name, s.name) })]),
    );
  }

  plan(query: string): { operation: Operation; plan: QueryPlan } {
    const operation = operationFromDocument(this.supergraph.apiSchema(), parse(query));
    return { operation, plan: this.planner.buildQueryPlan(operation) };
  }

  corrected(query: string): QueryPlan {
    const { operation, plan } = this.plan(query);
    return correctPlan(plan, this.supergraph, operation);
  }

  async execute(plan: QueryPlan, query: string, variables: Record<string, unknown> = {}): Promise<Result> {
    const requestContext = { request: { query, variables }, context: {}, metrics: {}, overallCachePolicy: undefined };
    const result = await executeQueryPlan(
      plan,
      this.services,
      requestContext as unknown as Parameters<typeof executeQueryPlan>[2],
      buildOperationContext({ schema: this.apiSchema, operationDocument: parse(query) }),
      this.supergraphSchema,
      this.supergraph.apiSchema(),
    );
    return JSON.parse(JSON.stringify(result)) as Result;
  }
}

/**
 * Defect 1 where the required field comes from an entity fetch over a list (not a root fetch): the
 * aliased field goes into that entity fetch.
 */
const LINK = (imports: string) => `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [${imports}])`;
const RATES: Record<string, number> = { USD: 1, EUR: 0.5 };
const listed: SupergraphDef = {
  name: 'listed',
  covers: 'required fields with arguments from an entity fetch over a list',
  cases: [],
  subgraphs: [
    {
      name: 'catalog',
      typeDefs: `${LINK('"@key"')} type Query { items: [Item!]! } type Item @key(fields: "id") { id: ID! }`,
      resolvers: { Query: { items: () => [{ id: '1' }, { id: '2' }] } },
    },
    {
      name: 'pricing',
      typeDefs: `${LINK('"@key"')} type Item @key(fields: "id") { id: ID! price(currency: String!): Float }`,
      resolvers: {
        Item: {
          __resolveReference: (ref: { id: string }) => ref,
          price: ({ id }: { id: string }, { currency }: { currency: string }) => 10 * Number(id) * (RATES[currency] ?? 0),
        },
      },
    },
    {
      name: 'display',
      typeDefs: `${LINK('"@key", "@external", "@requires"')}
        type Item @key(fields: "id") {
          id: ID!
          price(currency: String!): Float @external
          usd: String @requires(fields: "price(currency: \\"USD\\")")
          eur: String @requires(fields: "price(currency: \\"EUR\\")")
        }`,
      resolvers: {
        Item: {
          __resolveReference: (ref: unknown) => ref,
          usd: ({ price }: { price: number }) => `$${price}`,
          eur: ({ price }: { price: number }) => `€${price}`,
        },
      },
    },
  ],
};

describe('plan corrections', TIMEOUT, () => {
  const server = new SubgraphServer();
  let federation: Federation;
  let lists: Federation;

  before(async () => {
    await server.start();
    for (const def of [defects, listed]) for (const s of def.subgraphs) server.add(def.name, s);
    federation = new Federation(defects, server);
    lists = new Federation(listed, server);
  }, TIMEOUT);

  after(() => server.stop(), TIMEOUT);

  for (const { name, query, defect } of defects.cases) {
    if (!defect) continue;
    test(`answers correctly where stock does not: ${name}`, TIMEOUT, async () => {
      const { operation, plan } = federation.plan(query);
      const stock = await federation.execute(plan, query);
      assert.ok(defect.stockGives(stock), `the uncorrected plan shows the defect: ${JSON.stringify(stock)}`);
      const corrected = correctPlan(plan, federation.supergraph, operation);
      assert.deepStrictEqual(await federation.execute(corrected, query), defect.correct);
    });
  }

  test('gives the client its own arguments back, variables included, next to a @requires of other ones', TIMEOUT, async () => {
    const query = 'query($n: Int!) { post { summary comments(limit: $n) { id } } }';
    const result = await federation.execute(federation.corrected(query), query, { n: 2 });
    assert.deepStrictEqual(result, { data: { post: { summary: '3 comments', comments: [{ id: 'k1' }, { id: 'k2' }] } } });
  });

  test('serves the client a field whose arguments one @requires shares and another does not', TIMEOUT, async () => {
    for (const query of ['{ item { price(currency: "USD") eur usd } }', '{ item { eur usd price(currency: "USD") } }']) {
      const result = await federation.execute(federation.corrected(query), query);
      assert.deepStrictEqual(result, { data: { item: { price: 10, eur: '€5', usd: '$10' } } }, query);
    }
  });

  test('has an earlier fetch select a resolvable key when none does', TIMEOUT, async () => {
    // The planner happens to select "id" in the first fetch here; without it, the corrected plan
    // must have that fetch (whose subgraph resolves "id") select it for the costs fetch.
    const query = '{ things { cost } }';
    const { operation, plan } = federation.plan(query);
    const first = fetches(plan)[0]!;
    assert.equal(first.operation, '{things{__typename id sku}}');
    const withoutId: QueryPlan = JSON.parse(JSON.stringify(plan).replace(first.operation, '{things{__typename sku}}')) as QueryPlan;
    const corrected = correctPlan(withoutId, federation.supergraph, operation);
    assert.equal(fetches(corrected)[0]!.operation, '{things{__typename sku id}}');
    assert.deepStrictEqual(await federation.execute(corrected, query), { data: { things: [{ cost: 6 }, { cost: 12 }] } });
  });

  test('adds the aliased required field to the entity fetch that provides it, over a list', TIMEOUT, async () => {
    const query = '{ items { id usd price(currency: "EUR") eur } }';
    const { operation, plan } = lists.plan(query);
    const stock = (await lists.execute(plan, query)).data as { items: { usd: string; eur: string }[] };
    assert.ok(
      stock.items.every((i) => i.usd.slice(1) === i.eur.slice(1)),
      'the uncorrected plan reads one price for both',
    );
    const corrected = correctPlan(plan, lists.supergraph, operation);
    const pricing = fetches(corrected).find((f) => f.serviceName === 'pricing');
    assert.match(pricing?.operation ?? '', /_entities.*_required0_price:price\(currency:"USD"\)/);
    assert.deepStrictEqual(await lists.execute(corrected, query), {
      data: {
        items: [
          { id: '1', usd: '$10', price: 5, eur: '€5' },
          { id: '2', usd: '$20', price: 10, eur: '€10' },
        ],
      },
    });
  });

  test("keeps every corrected fetch's document node in step with its operation", TIMEOUT, () => {
    const planner = new QueryPlanner(federation.supergraph, { exposeDocumentNodeInFetchNode: true });
    for (const query of ['{ item { usd eur } }', '{ post { summary comments(limit: 1) { id } } }', '{ things { id cost } }']) {
      const operation = operationFromDocument(federation.supergraph.apiSchema(), parse(query));
      const plan = planner.buildQueryPlan(operation);
      const corrected = correctPlan(plan, federation.supergraph, operation);
      assert.notEqual(corrected, plan, query);
      for (const fetch of fetches(corrected)) {
        assert.ok(fetch.operationDocumentNode, query);
        assert.equal(stripIgnoredCharacters(print(fetch.operationDocumentNode)), fetch.operation, query);
      }
    }
  });

  test('does not modify the plan it is given', TIMEOUT, () => {
    const { operation, plan } = federation.plan('{ item { usd eur } }');
    const before = JSON.stringify(plan);
    assert.notEqual(correctPlan(plan, federation.supergraph, operation), plan);
    assert.equal(JSON.stringify(plan), before);
  });
});

describe('plans the defects do not touch (the other supergraphs, their defect cases aside)', TIMEOUT, () => {
  const server = new SubgraphServer();
  for (const def of SUPERGRAPHS.filter((d) => d !== defects)) {
    test(`come back as they are: ${def.name}`, TIMEOUT, () => {
      const supergraph = Supergraph.build(compose(def, server));
      const planner = new QueryPlanner(supergraph);
      let planned = 0;
      for (const c of def.cases) {
        // A defect case is one the corrections are for (entities has one).
        if (c.requestError || c.defect) continue;
        let operation: Operation;
        try {
          operation = operationFromDocument(supergraph.apiSchema(), parse(c.query), { operationName: c.operationName });
        } catch {
          continue; // an operation the gateway refuses before planning
        }
        const plan = planner.buildQueryPlan(operation);
        assert.equal(correctPlan(plan, supergraph, operation), plan, `${def.name}: ${c.name}`);
        planned++;
      }
      assert.ok(planned > 0 || def.cases.length === 0, `${def.name} has plans to look at`);
    });
  }
});
