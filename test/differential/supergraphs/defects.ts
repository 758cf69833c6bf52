/**
 * The query planner's known defects (issue 11), each on the smallest supergraph that shows it. Stock
 * `@apollo/gateway` is asserted to answer the known wrong way, and Interchange the correct way: it
 * corrects the planner's plans (gateway/src/executor/plan-corrections.ts; harness.ts, `defect`).
 */
import { GraphQLError } from 'graphql';
import type { Result, SupergraphDef } from '../harness.ts';

const LINK = (imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [${imports.map((i) => `"${i}"`).join(', ')}])`;

const RATES: Record<string, number> = { USD: 1, EUR: 0.5 };
const THINGS = [
  { id: 't1', sku: 'K-1' },
  { id: 't2', sku: 'K-2' },
];

export const defects: SupergraphDef = {
  name: 'defects',
  covers: 'the planner defects of issue 11',
  todo: [
    // Every shape tried was refused before it could be planned: composition's satisfiability check
    // refuses a field reachable only through a resolvable: false key or an unsatisfiable @requires,
    // and without that check (runSatisfiability: false) the planner throws "Was not able to find any
    // options" (an error, not an empty plan). A supergraph that shows it goes here as a `defect` case.
    // Interchange refuses an empty plan for root fields that need subgraphs (executor/operations.ts,
    // `unplannedFields`, with a unit test); the case awaits a supergraph that shows the defect.
    'a field that cannot be reached is planned as an empty plan (null, no error) instead of an error: no reproducing supergraph yet',
  ],
  subgraphs: [
    {
      name: 'pricing',
      typeDefs: `
        ${LINK(['@key', '@shareable'])}
        type Query { item: Item post: Post }
        type Item @key(fields: "id") { id: ID! price(currency: String!): Float }
        type Post @key(fields: "id") { id: ID! comments(limit: Int!): [Comment!]! }
        type Comment { id: ID! }
      `,
      resolvers: {
        Query: { item: () => ({ id: 'i1' }), post: () => ({ id: 'p1' }) },
        Item: { price: (_: unknown, { currency }: { currency: string }) => 10 * (RATES[currency] ?? 0) },
        Post: {
          comments: (_: unknown, { limit }: { limit: number }) =>
            Array.from({ length: 5 }, (_c, i) => ({ id: `k${i + 1}` })).slice(0, limit),
        },
      },
    },
    {
      name: 'display',
      typeDefs: `
        ${LINK(['@key', '@external', '@requires'])}
        type Item @key(fields: "id") {
          id: ID!
          price(currency: String!): Float @external
          usd: String @requires(fields: "price(currency: \\"USD\\")")
          eur: String @requires(fields: "price(currency: \\"EUR\\")")
        }
        type Post @key(fields: "id") {
          id: ID!
          comments(limit: Int!): [Comment!]! @external
          summary: String @requires(fields: "comments(limit: 3) { id }")
        }
        type Comment { id: ID! @external }
      `,
      resolvers: {
        Item: {
          __resolveReference: (ref: unknown) => ref,
          usd: ({ price }: { price: number }) => `$${price}`,
          eur: ({ price }: { price: number }) => `€${price}`,
        },
        Post: {
          __resolveReference: (ref: unknown) => ref,
          summary: ({ comments }: { comments: { id: string }[] }) => `${comments.length} comments`,
        },
      },
    },
    {
      name: 'owner',
      typeDefs: `
        ${LINK(['@key'])}
        type Query { things: [Thing!]! }
        type Thing @key(fields: "id") @key(fields: "sku") { id: ID! sku: ID! }
      `,
      resolvers: {
        Query: { things: () => THINGS },
        Thing: { __resolveReference: (ref: { id?: string; sku?: string }) => THINGS.find((t) => t.id === ref.id || t.sku === ref.sku) },
      },
    },
    {
      name: 'weights',
      typeDefs: `
        ${LINK(['@key'])}
        type Thing @key(fields: "id") { id: ID! weight: Int! }
      `,
      resolvers: {
        Thing: { __resolveReference: ({ id }: { id: string }) => ({ id }), weight: ({ id }: { id: string }) => 3 * Number(id.slice(1)) },
      },
    },
    {
      name: 'costs',
      typeDefs: `
        ${LINK(['@key', '@external', '@requires'])}
        type Thing @key(fields: "sku", resolvable: false) @key(fields: "id") { id: ID! sku: ID! weight: Int! @external cost: Int @requires(fields: "weight") }
      `,
      resolvers: {
        Thing: {
          // As a subgraph that declares "sku" not resolvable is entitled to: it finds things by id only.
          __resolveReference: (ref: { id?: string; weight: number }) => {
            if (ref.id === undefined) throw new GraphQLError('a Thing is found by its id here', { extensions: { code: 'NOT_RESOLVABLE' } });
            return ref;
          },
          cost: ({ weight }: { weight: number }) => weight * 2,
        },
      },
    },
  ],
  cases: [
    {
      name: 'two @requires of one field with different arguments',
      query: '{ item { usd eur } }',
      defect: {
        why: 'the planner merges price(currency: "USD") and price(currency: "EUR") into one field, so both @requires get the same price',
        correct: { data: { item: { usd: '$10', eur: '€5' } } },
        stockGives: (r: Result) => {
          const item = (r.data as { item: { usd: string; eur: string } }).item;
          return item.usd.slice(1) === item.eur.slice(1);
        },
      },
    },
    {
      name: "a client's comments(limit: 1) next to a @requires on comments(limit: 3)",
      query: '{ post { comments(limit: 1) { id } summary } }',
      defect: {
        why: "the planner merges the @requires selection comments(limit: 3) into the client's comments(limit: 1), and the @requires field sees one",
        correct: { data: { post: { comments: [{ id: 'k1' }], summary: '3 comments' } } },
        stockGives: (r: Result) => (r.data as { post: { summary: string } }).post.summary !== '3 comments',
      },
    },
    {
      name: "a @requires on comments(limit: 3) before a client's comments(limit: 1)",
      query: '{ post { summary comments(limit: 1) { id } } }',
      defect: {
        why: "the planner merges the client's comments(limit: 1) into the @requires selection comments(limit: 3), and the client gets three",
        correct: { data: { post: { summary: '3 comments', comments: [{ id: 'k1' }] } } },
        stockGives: (r: Result) => (r.data as { post: { comments: unknown[] } }).post.comments.length === 3,
      },
    },
    {
      name: 'a @requires fetch sent with a resolvable: false key',
      query: '{ things { id cost } }',
      defect: {
        why: 'the planner enters the costs subgraph with its key "sku", declared resolvable: false there, instead of its key "id"',
        correct: {
          data: {
            things: [
              { id: 't1', cost: 6 },
              { id: 't2', cost: 12 },
            ],
          },
        },
        stockGives: (r: Result) => r.errors?.some((e) => e.extensions?.['code'] === 'NOT_RESOLVABLE') === true,
      },
    },
  ],
};
