/**
 * Lists of lists and null propagation: nested lists with nullable and non-null items at each
 * level, entities inside lists of lists resolved by another subgraph, and non-null fields that come
 * back null (or throw) so the null climbs to the nearest nullable parent, in both subgraphs.
 */
import { GraphQLError } from 'graphql';
import type { SupergraphDef } from '../harness.ts';

const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])`;
const cell = (id: number) => ({ id: String(id) });

export const nulls: SupergraphDef = {
  name: 'nulls',
  covers: 'lists of lists, null propagation through non-null fields, entities in nested lists',
  subgraphs: [
    {
      name: 'grid',
      typeDefs: `
        ${LINK}
        type Query {
          matrix: [[Int]]
          strictMatrix: [[Int!]!]!
          holes: [[Int!]]
          cells(rows: Int = 2, cols: Int = 3): [[Cell!]!]
          looseCells: [[Cell]]
          cube: [[[Cell!]]]
          cell(id: ID!): Cell
          strictCell(id: ID!): Cell!
          wrapper: Wrapper!
        }
        type Cell @key(fields: "id") { id: ID! row: Int! local: String! }
        type Wrapper { inner: Inner item: Cell! name: String! }
        type Inner { must: Int! may: Int }
      `,
      resolvers: {
        Query: {
          matrix: () => [[1, null, 3], null, [], [4]],
          strictMatrix: () => [[1, 2], [3]],
          holes: () => [[1, 2], [3, null], [5]],
          cells: (_: unknown, { rows, cols }: { rows: number; cols: number }) =>
            Array.from({ length: rows }, (_r, r) => Array.from({ length: cols }, (_c, c) => cell(r * 10 + c))),
          looseCells: () => [[cell(1), null], null, [cell(7)]],
          cube: () => [[[cell(1), cell(2)], null], [[cell(13)]]],
          cell: (_: unknown, { id }: { id: string }) => (id === 'none' ? null : { id }),
          strictCell: (_: unknown, { id }: { id: string }) => (id === 'none' ? null : { id }),
          wrapper: () => ({}),
        },
        Cell: {
          __resolveReference: ({ id }: { id: string }) => ({ id }),
          row: ({ id }: { id: string }) => Math.floor(Number(id) / 10),
          local: ({ id }: { id: string }) => {
            if (id === '2') throw new GraphQLError('local lost', { extensions: { code: 'LOCAL_LOST' } });
            return id === '13' ? null : `L${id}`;
          },
        },
        Wrapper: {
          inner: () => ({ must: null, may: 1 }),
          item: () => cell(12),
          name: () => 'w',
        },
      },
    },
    {
      name: 'values',
      typeDefs: `
        ${LINK}
        type Cell @key(fields: "id") { id: ID! value: Int! label: String tags: [[String!]]! }
      `,
      resolvers: {
        Cell: {
          __resolveReference: ({ id }: { id: string }) => ({ id }),
          value: ({ id }: { id: string }) => {
            if (id === '12') throw new GraphQLError('value is unknown', { extensions: { code: 'NO_VALUE' } });
            return id === '11' ? null : Number(id) * 2;
          },
          label: ({ id }: { id: string }) => (Number(id) % 2 === 0 ? `even ${id}` : null),
          tags: ({ id }: { id: string }) => (id === '1' ? [['a', 'b'], null] : id === '21' ? [['x', null]] : [[id]]),
        },
      },
    },
  ],
  cases: [
    { name: 'nullable list of nullable lists', query: '{ matrix }' },
    { name: 'non-null lists of non-null items', query: '{ strictMatrix }' },
    { name: 'a null in a non-null inner item nulls its row', query: '{ holes }' },
    { name: 'entities in a list of lists from another subgraph', query: '{ cells { id row value label } }' },
    { name: 'entities in lists of lists with arguments', query: '{ cells(rows: 1, cols: 2) { id tags } }' },
    {
      name: 'non-null value that is null in the second subgraph nulls the whole matrix',
      query: '{ cells(rows: 2, cols: 2) { id value } }',
    },
    { name: 'non-null value that throws, with code and path', query: '{ cells(rows: 2, cols: 3) { id value } }' },
    { name: 'error in a field of the first subgraph inside lists of lists', query: '{ cells(rows: 1, cols: 3) { id local } }' },
    { name: 'nullable entities in nullable lists', query: '{ looseCells { id value label } }' },
    { name: 'three levels of lists', query: '{ cube { id local value } }' },
    { name: 'lists of lists of strings with a null item in a non-null position', query: '{ cube { tags } }' },
    { name: 'a null list for a non-null field nulls the cell', query: '{ cell(id: "21") { id tags } }' },
    { name: 'missing entity, nullable root', query: '{ cell(id: "none") { id value } }' },
    { name: 'missing entity, non-null root nulls data', query: '{ strictCell(id: "none") { id } }' },
    { name: 'non-null root whose non-null field fails in another subgraph', query: '{ strictCell(id: "11") { id value } }' },
    { name: 'non-null root field error and a sibling', query: '{ cell(id: "4") { value } strictCell(id: "12") { value } }' },
    { name: 'null in a non-null field of a nullable object', query: '{ wrapper { name inner { may must } } }' },
    { name: 'non-null entity in a non-null wrapper whose value fails', query: '{ wrapper { name item { id value } } }' },
    {
      name: 'aliases: one path fails, the other survives',
      query: '{ ok: cell(id: "4") { value } bad: cell(id: "11") { value } alsoOk: cell(id: "5") { label } }',
    },
    {
      name: '@skip removes the failing field',
      query: 'query($s: Boolean!) { cells(rows: 2, cols: 3) { id value @skip(if: $s) } }',
      variables: { s: true },
    },
    {
      name: '@include keeps the failing field',
      query: 'query($s: Boolean!) { cells(rows: 2, cols: 3) { id value @include(if: $s) } }',
      variables: { s: true },
    },
    {
      name: 'variables for list sizes',
      query: 'query($r: Int, $c: Int) { cells(rows: $r, cols: $c) { id label } }',
      variables: { r: 3, c: 1 },
    },
  ],
  generate: { count: 30, depth: 4, values: { ID: ['1', '4', '11', '12', '13', '21', 'none'], Int: [0, 1, 2, 3] } },
};
