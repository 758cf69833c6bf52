/**
 * Subgraph errors and failures: resolvers that throw with and without codes (and extensions of
 * their own), errors on root fields and inside entity fetches, a subgraph that is down (every
 * connection reset), one that never answers (the gateways' deadline fires), one that answers HTTP 500
 * with GraphQL errors, one that answers an HTML page, and one that answers errors without data.
 *
 * Where a subgraph could not be reached at all, Interchange answers with its own error on purpose
 * (gateway/src/executor/transport.ts): `subgraph "<name>" is unavailable: <reason>` with the code
 * SUBGRAPH_UNAVAILABLE and `serviceName`, where stock passes on the fetch's failure as
 * INTERNAL_SERVER_ERROR without either; the data is the same. The supergraph declares it
 * (`interchange`), for its generated cases too.
 */
import { GraphQLError } from 'graphql';
import { HTML_PAGE, type Result, type SupergraphDef } from '../harness.ts';

const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])`;
const TIMEOUT_MS = 1_500;
const things = ['t1', 't2', 't3'].map((id) => ({ id }));

/**
 * Stock's error for a subgraph it could not get an answer from is the fetch's failure, with no path
 * and no `serviceName` (`fetch failed` for a reset connection, `The operation was aborted due to
 * timeout` for the deadline, `500: Internal Server Error` with the subgraph's URL and whole response
 * in `extensions.response` for an HTTP error status, `Expected JSON response body...` for a body
 * that is not JSON, quoting it); Interchange's names the subgraph (message and `serviceName`), says
 * SUBGRAPH_UNAVAILABLE, and passes on nothing of the response: the GraphQL errors in the body of an
 * HTTP 500 (their messages and codes) do not reach the client. Here each failure has its own
 * subgraph, so stock's message says which.
 */
const UNREACHABLE: Record<string, { subgraph: string; reason: string }> = {
  'fetch failed': { subgraph: 'down', reason: 'UND_ERR_SOCKET' },
  'The operation was aborted due to timeout': { subgraph: 'slow', reason: `no answer within ${TIMEOUT_MS} ms` },
  '500: Internal Server Error': { subgraph: 'broken', reason: '500: Internal Server Error' },
  [`Expected JSON response body, but received: ${HTML_PAGE}`]: {
    subgraph: 'garbled',
    // Interchange never quotes what a subgraph answered (it goes to its log).
    reason: 'the answer is not a JSON object (text/html)',
  },
};

function unavailable(stock: Result): Result {
  if (!stock.errors) return stock;
  return {
    ...stock,
    errors: stock.errors.map((e) => {
      const unreachable = e.extensions?.['serviceName'] === undefined ? UNREACHABLE[e.message] : undefined;
      if (!unreachable) return e;
      return {
        ...e,
        message: `subgraph "${unreachable.subgraph}" is unavailable: ${unreachable.reason}`,
        extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: unreachable.subgraph },
      };
    }),
  };
}

export const faults: SupergraphDef = {
  name: 'faults',
  covers: 'subgraph errors (codes, extensions, paths); subgraphs down, timing out, answering HTTP 500, HTML, or errors without data',
  timeoutMs: TIMEOUT_MS,
  concurrency: 8,
  interchange: {
    why: "a subgraph that could not be reached is Interchange's own SUBGRAPH_UNAVAILABLE error naming it (gateway/src/executor/transport.ts)",
    expected: unavailable,
  },
  subgraphs: [
    {
      name: 'healthy',
      typeDefs: `
        ${LINK}
        type Query { things: [Thing!]! thing(id: ID!): Thing boom: String boomStrict: String! plain: String coded: Int }
        type Thing @key(fields: "id") { id: ID! name: String! }
      `,
      resolvers: {
        Query: {
          things: () => things,
          thing: (_: unknown, { id }: { id: string }) => things.find((t) => t.id === id) ?? null,
          boom: () => {
            throw new GraphQLError('boom', { extensions: { code: 'BOOM', detail: { retry: false, attempts: [1, 2] } } });
          },
          boomStrict: () => {
            throw new GraphQLError('strict boom', { extensions: { code: 'STRICT_BOOM' } });
          },
          plain: () => {
            throw new Error('a plain error');
          },
          coded: () => {
            throw new GraphQLError('bad input here', { extensions: { code: 'BAD_USER_INPUT' } });
          },
        },
        Thing: {
          __resolveReference: ({ id }: { id: string }) => things.find((t) => t.id === id),
          name: ({ id }: { id: string }) => `thing ${id}`,
        },
      },
    },
    {
      name: 'flaky',
      typeDefs: `
        ${LINK}
        type Thing @key(fields: "id") { id: ID! extra: String strictExtra: String! count: Int }
      `,
      resolvers: {
        Thing: {
          __resolveReference: ({ id }: { id: string }) => ({ id }),
          extra: ({ id }: { id: string }) => {
            if (id === 't2') throw new GraphQLError(`no extra for ${id}`, { extensions: { code: 'NO_EXTRA' } });
            return `extra ${id}`;
          },
          strictExtra: ({ id }: { id: string }) => {
            if (id === 't3') throw new GraphQLError('strict extra failed');
            return `strict ${id}`;
          },
          count: ({ id }: { id: string }) => Number(id.slice(1)),
        },
      },
    },
    {
      name: 'down',
      fault: 'down',
      typeDefs: `
        ${LINK}
        type Query { downField: String }
        type Thing @key(fields: "id") { id: ID! gone: String }
      `,
      resolvers: { Query: { downField: () => 'never' }, Thing: { gone: () => 'never' } },
    },
    {
      name: 'slow',
      fault: 'hang',
      typeDefs: `
        ${LINK}
        type Query { slowField: String }
        type Thing @key(fields: "id") { id: ID! late: String }
      `,
      resolvers: { Query: { slowField: () => 'never' }, Thing: { late: () => 'never' } },
    },
    {
      name: 'broken',
      fault: 'status500',
      typeDefs: `
        ${LINK}
        type Query { brokenField: String }
        type Thing @key(fields: "id") { id: ID! brokenExtra: String }
      `,
      resolvers: { Query: { brokenField: () => 'never' }, Thing: { brokenExtra: () => 'never' } },
    },
    {
      name: 'garbled',
      fault: 'html',
      typeDefs: `
        ${LINK}
        type Query { garbledField: String }
        type Thing @key(fields: "id") { id: ID! garbledExtra: String }
      `,
      resolvers: { Query: { garbledField: () => 'never' }, Thing: { garbledExtra: () => 'never' } },
    },
    {
      name: 'refusing',
      fault: 'refuse',
      typeDefs: `
        ${LINK}
        type Query { refusingField: String }
        type Thing @key(fields: "id") { id: ID! refusingExtra: String }
      `,
      resolvers: { Query: { refusingField: () => 'never' }, Thing: { refusingExtra: () => 'never' } },
    },
  ],
  cases: [
    { name: 'root field error with code and extensions', query: '{ boom }' },
    { name: 'root error next to data', query: '{ things { id name } boom }' },
    { name: 'non-null root field error nulls data', query: '{ boomStrict things { id } }' },
    { name: 'a plain Error from a resolver', query: '{ plain }' },
    { name: 'BAD_USER_INPUT from a subgraph', query: '{ coded }' },
    { name: 'several root errors in order', query: '{ a: boom plain b: coded c: boom }' },
    { name: 'entity field error with code and path', query: '{ things { id extra } }' },
    { name: 'non-null entity field error propagates to the list', query: '{ things { id strictExtra } }' },
    { name: 'errors from two subgraphs in one response', query: '{ boom things { name extra strictExtra count } }' },
    { name: 'one entity error, aliased', query: '{ t: thing(id: "t2") { n: name e: extra c: count } }' },
    { name: 'a variable picks the failing entity', query: 'query($id: ID!) { thing(id: $id) { extra } }', variables: { id: 't2' } },
    { name: 'subgraph down: root field', query: '{ downField }' },
    { name: 'subgraph down: root field next to healthy ones', query: '{ things { id } downField }' },
    { name: 'subgraph down: entity fetch', query: '{ things { id name gone } }' },
    {
      name: 'subgraph down next to a field error',
      query: '{ things { id extra gone } boom }',
    },
    { name: 'subgraph down: not asked, not felt', query: '{ things { id extra count } }' },
    { name: 'subgraph times out: root field', query: '{ slowField }' },
    { name: 'subgraph times out: entity fetch', query: '{ things { id late count } }' },
    {
      name: 'timeout and down in one operation',
      query: '{ slowField downField thing(id: "t1") { late gone name } }',
    },
    { name: 'HTTP 500 with GraphQL errors: root field', query: '{ brokenField }' },
    { name: 'HTTP 500 with GraphQL errors: entity fetch', query: '{ things { id brokenExtra } }' },
    { name: 'HTML instead of JSON: root field', query: '{ garbledField }' },
    { name: 'HTML instead of JSON: entity fetch', query: '{ things { id garbledExtra } }' },
    { name: 'request-level errors without data: root field', query: '{ refusingField things { id } }' },
    { name: 'request-level errors without data: entity fetch', query: '{ things { id refusingExtra name } }' },
    { name: 'every kind of failure at once', query: '{ things { id extra brokenExtra garbledExtra refusingExtra gone } boom }' },
    {
      name: '@skip spares the down subgraph',
      query: 'query($s: Boolean!) { things { id gone @skip(if: $s) } }',
      variables: { s: true },
    },
  ],
  generate: {
    count: 20,
    depth: 3,
    values: { ID: ['t1', 't2', 't3', 't9'] },
  },
};
