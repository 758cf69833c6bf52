/**
 * The public federation gateways benchmark's four subgraphs (accounts, inventory, products,
 * reviews) with the federation bench's schemas and TestQuery (test/bench/federation/), on our own
 * small deterministic data of the same shape (a null weight included, for `@requires`).
 */
import { TEST_QUERY } from '../../bench/federation/query.ts';
import { SUBGRAPH_SDL } from '../../bench/federation/subgraphs.ts';
import type { SupergraphDef } from '../harness.ts';

const users = Array.from({ length: 6 }, (_, i) => ({
  id: String(i + 1),
  name: `User ${i + 1}`,
  username: `@user${i + 1}`,
  birthday: 1_000 + i * 37,
}));
const products = Array.from({ length: 7 }, (_, i) => ({
  upc: String(i + 1),
  name: `Product ${i + 1}`,
  price: 100 * (i + 1) + 99,
  weight: i % 3 === 2 ? null : 10 + i * 5,
}));
const reviews = Array.from({ length: 14 }, (_, i) => ({
  id: String(i + 1),
  body: `Review ${i + 1}`,
  authorId: String((i % users.length) + 1),
  productUpc: String((i % products.length) + 1),
}));

const user = (id: string) => users.find((u) => u.id === id) ?? null;
const product = (upc: string) => products.find((p) => p.upc === upc) ?? null;

export const benchmark: SupergraphDef = {
  name: 'benchmark',
  covers: 'the federation benchmark: @requires, @provides, nested entity chains across four subgraphs',
  subgraphs: [
    {
      name: 'accounts',
      typeDefs: SUBGRAPH_SDL.accounts,
      resolvers: {
        Query: { me: () => users[0], user: (_: unknown, { id }: { id: string }) => user(id), users: () => users },
        User: { __resolveReference: ({ id }: { id: string }) => user(id) },
      },
    },
    {
      name: 'inventory',
      typeDefs: SUBGRAPH_SDL.inventory,
      resolvers: {
        Product: {
          __resolveReference: (ref: { upc: string; price?: number; weight?: number | null }) => ref,
          inStock: ({ upc }: { upc: string }) => Number(upc) % 2 === 1,
          shippingEstimate: ({ price, weight }: { price: number; weight: number | null }) =>
            price > 500 ? 0 : weight === null ? null : Math.round(weight / 2),
        },
      },
    },
    {
      name: 'products',
      typeDefs: SUBGRAPH_SDL.products,
      resolvers: {
        Query: { topProducts: (_: unknown, { first }: { first: number }) => products.slice(0, first) },
        Product: { __resolveReference: ({ upc }: { upc: string }) => product(upc) },
      },
    },
    {
      name: 'reviews',
      typeDefs: SUBGRAPH_SDL.reviews,
      resolvers: {
        Review: {
          __resolveReference: ({ id }: { id: string }) => reviews.find((r) => r.id === id) ?? null,
          product: (r: { productUpc: string }) => ({ upc: r.productUpc }),
          author: (r: { authorId: string }) => ({ id: r.authorId, username: user(r.authorId)?.username }),
        },
        User: { reviews: ({ id }: { id: string }) => reviews.filter((r) => r.authorId === id) },
        Product: { reviews: ({ upc }: { upc: string }) => reviews.filter((r) => r.productUpc === upc) },
      },
    },
  ],
  cases: [
    { name: 'the benchmark TestQuery', query: TEST_QUERY },
    { name: 'me', query: '{ me { id name username birthday } }' },
    { name: 'user by id with variable', query: 'query($id: ID!) { user(id: $id) { name reviews { body } } }', variables: { id: '3' } },
    { name: 'unknown user is null', query: '{ user(id: "99") { name reviews { id } } }' },
    { name: 'topProducts first 2 with @requires', query: '{ topProducts(first: 2) { upc shippingEstimate } }' },
    { name: 'topProducts @requires with a null weight', query: '{ topProducts(first: 7) { name weight shippingEstimate inStock } }' },
    { name: '@provides username from reviews', query: '{ topProducts { reviews { author { username } } } }' },
    { name: 'username and name needs accounts', query: '{ topProducts { reviews { author { username name } } } }' },
    {
      name: 'aliases across subgraphs',
      query: '{ first: topProducts(first: 1) { n: name s: shippingEstimate } all: users { i: id r: reviews { b: body } } }',
    },
    {
      name: '@skip and @include with variables',
      query:
        'query($s: Boolean!, $i: Boolean!) { topProducts { name @skip(if: $s) shippingEstimate @include(if: $i) reviews @include(if: $s) { id } } }',
      variables: { s: false, i: true },
    },
    {
      name: '@skip on an entity field that needs @requires',
      query: 'query($s: Boolean!) { topProducts { upc shippingEstimate @skip(if: $s) } }',
      variables: { s: true },
    },
    { name: 'typename everywhere', query: '{ __typename users { __typename reviews { __typename product { __typename upc } } } }' },
    {
      name: 'variable default for topProducts',
      query: 'query($n: Int = 3) { topProducts(first: $n) { upc name } }',
    },
  ],
  generate: { count: 30, depth: 5, values: { 'Query.user.id': ['1', '2', '5', '42'], ID: ['1', '2'], Int: [1, 3, 7] } },
};
