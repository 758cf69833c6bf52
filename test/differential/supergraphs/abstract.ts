/**
 * Abstract types across subgraphs: an entity interface (`Media`, keyed, implemented by two entity
 * types), the same interface seen as an `@interfaceObject` by another subgraph that adds fields to
 * every implementation, a union of entities and a value type, and a non-entity interface.
 */
import { GraphQLError } from 'graphql';
import type { SupergraphDef } from '../harness.ts';

const media = [
  { __typename: 'Book', id: 'm1', title: 'Dune', pages: 412 },
  { __typename: 'Movie', id: 'm2', title: 'Alien', minutes: 117 },
  { __typename: 'Book', id: 'm3', title: 'Emma', pages: 474 },
  { __typename: 'Movie', id: 'm4', title: 'Heat', minutes: 170 },
  { __typename: 'Book', id: 'm5', title: 'Ubik', pages: 202 },
];
const find = (id: string) => media.find((m) => m.id === id) ?? null;
const authors = [{ name: 'Herbert' }, { name: 'Austen' }];

export const abstract: SupergraphDef = {
  name: 'abstract',
  covers: 'interfaces, unions, @interfaceObject, fragments on abstract types',
  subgraphs: [
    {
      name: 'media',
      typeDefs: `
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
        type Query {
          media: [Media!]!
          item(id: ID!): Media
          search(text: String!): [SearchResult!]!
          named: [Named!]!
        }
        interface Media @key(fields: "id") { id: ID! title: String! }
        type Book implements Media & Named @key(fields: "id") { id: ID! title: String! pages: Int name: String! }
        type Movie implements Media & Named @key(fields: "id") { id: ID! title: String! minutes: Int name: String! }
        interface Named { name: String! }
        type Author implements Named { name: String! }
        union SearchResult = Book | Movie | Author
      `,
      resolvers: {
        Query: {
          media: () => media,
          item: (_: unknown, { id }: { id: string }) => find(id),
          search: (_: unknown, { text }: { text: string }) => [
            ...media.filter((m) => m.title.toLowerCase().includes(text.toLowerCase())),
            ...authors.filter((a) => a.name.toLowerCase().includes(text.toLowerCase())).map((a) => ({ __typename: 'Author', ...a })),
          ],
          named: () => [...media.slice(0, 3), { __typename: 'Author', ...authors[0] }],
        },
        Media: { __resolveReference: ({ id }: { id: string }) => find(id) },
        Book: { __resolveReference: ({ id }: { id: string }) => find(id), name: (m: { title: string }) => m.title.toUpperCase() },
        Movie: { __resolveReference: ({ id }: { id: string }) => find(id), name: (m: { title: string }) => m.title.toUpperCase() },
      },
    },
    {
      name: 'ratings',
      typeDefs: `
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@interfaceObject"])
        type Query { topRated(limit: Int = 3): [Media!]! }
        type Media @key(fields: "id") @interfaceObject { id: ID! stars: Int reviewCount: Int! verdict: String }
      `,
      resolvers: {
        Query: { topRated: (_: unknown, { limit }: { limit: number }) => ['m4', 'm1', 'm5', 'm2'].slice(0, limit).map((id) => ({ id })) },
        Media: {
          __resolveReference: ({ id }: { id: string }) => ({ id }),
          stars: ({ id }: { id: string }) => (id === 'm3' ? null : (Number(id.slice(1)) % 5) + 1),
          reviewCount: ({ id }: { id: string }) => Number(id.slice(1)) * 7,
          verdict: ({ id }: { id: string }) => {
            if (id === 'm2') throw new GraphQLError('verdict withheld', { extensions: { code: 'EMBARGOED' } });
            return `verdict on ${id}`;
          },
        },
      },
    },
    {
      name: 'shelf',
      typeDefs: `
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
        type Book @key(fields: "id") { id: ID! shelf: String copies: [Int!]! }
      `,
      resolvers: {
        Book: {
          __resolveReference: ({ id }: { id: string }) => ({ id }),
          shelf: ({ id }: { id: string }) => `shelf-${id}`,
          copies: ({ id }: { id: string }) => [1, 2, 3].map((n) => n * Number(id.slice(1))),
        },
      },
    },
  ],
  cases: [
    { name: 'interface list with typename', query: '{ media { __typename id title } }' },
    { name: 'inline fragments per implementation', query: '{ media { id ... on Book { pages } ... on Movie { minutes } } }' },
    {
      name: 'named fragments on implementations reaching another subgraph',
      query: '{ media { ...B ...M } } fragment B on Book { title shelf copies } fragment M on Movie { title minutes }',
    },
    { name: '@interfaceObject fields on the interface', query: '{ media { id title stars reviewCount } }' },
    {
      name: '@interfaceObject root field, implementation fields from media',
      query: '{ topRated { __typename id title ... on Book { pages shelf } } }',
    },
    { name: '@interfaceObject field error keeps its path and code', query: '{ media { id verdict } }' },
    {
      name: 'topRated with a limit variable',
      query: 'query($n: Int) { topRated(limit: $n) { id stars ... on Movie { minutes } } }',
      variables: { n: 4 },
    },
    { name: 'entity interface by id: a book', query: '{ item(id: "m1") { __typename title stars ... on Book { shelf } } }' },
    { name: 'entity interface by id: a movie', query: '{ item(id: "m2") { __typename title ... on Movie { minutes } verdict } }' },
    { name: 'entity interface by id: missing', query: '{ item(id: "nope") { title stars } }' },
    {
      name: 'union with a fragment per member',
      query: '{ search(text: "e") { __typename ... on Book { title shelf } ... on Movie { title stars } ... on Author { name } } }',
    },
    { name: 'union with typename only', query: '{ search(text: "u") { __typename } }' },
    {
      name: 'union member fragment through an interface',
      query: '{ search(text: "a") { ... on Media { id title reviewCount } ... on Named { name } } }',
    },
    { name: 'non-entity interface', query: '{ named { __typename name ... on Media { id stars } } }' },
    {
      name: 'aliases on interface fields in fragments',
      query: '{ x: media { a: id ... on Book { b: title c: shelf } ... on Movie { b: title } } }',
    },
    {
      name: '@include on a fragment spread',
      query: 'query($b: Boolean!) { media { id ...B @include(if: $b) } } fragment B on Book { shelf }',
      variables: { b: true },
    },
    {
      name: '@skip on an inline fragment',
      query: 'query($b: Boolean!) { topRated { id ... on Book @skip(if: $b) { shelf } } }',
      variables: { b: true },
    },
  ],
  generate: { count: 35, depth: 4, values: { ID: ['m1', 'm2', 'm3', 'm9'], String: ['e', 'a', 'Dune'], Int: [1, 2, 5] } },
};
