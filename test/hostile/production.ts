/**
 * The production switch's inputs (PRODUCTION=true): no introspection, no "Did you mean"
 * suggestions (in validation and in variable errors), no playground, and a subgraph error whose
 * code is not documented masked as INTERNAL_SERVER_ERROR. They run against a second gateway of the
 * system with the switch on (the scenario `production/switch`), its customers subgraph replaced by
 * a stand-in that answers every request with an undocumented error full of internals.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { gqlBody } from './documents.ts';
import { DEADLINE, refused, sseRefused, wsError } from './expect.ts';
import type { Credential, Expectation, HostileInput, Request } from './types.ts';

/** What the stand-in subgraph answers: an error no registry documents, naming a path, a host and a statement. */
export const UNDOCUMENTED_ERROR = {
  message: 'relation "customers" failed at /var/lib/postgresql/data (postgres://db.internal:5432): SELECT * FROM customers',
  extensions: { code: 'SQL_ERROR' },
};

/** Never in a production answer. */
const SUGGESTION = /Did you mean/i;
const INTERNALS = /postgres|SELECT|SQL_ERROR|db\.internal/i;

const VALIDATION = 'GRAPHQL_VALIDATION_FAILED';
const json = { 'content-type': 'application/json' };
const eventStream = { 'content-type': 'application/json', accept: 'text/event-stream' };

function input(name: string, request: Request, expect: Expectation | readonly Expectation[]): HostileInput {
  return { name: `production/${name}`, group: 'production', request, expect, deadlineMs: DEADLINE.run };
}

/** One operation over HTTP, graphql-ws and SSE. */
function everywhere(
  name: string,
  query: string,
  variables: unknown,
  http: Expectation,
  excludes: RegExp[],
  auth: Credential = { kind: 'none' },
): HostileInput[] {
  const body = gqlBody(query, variables);
  const code = http.code!;
  return [
    input(`http/${name}`, { transport: 'http', headers: json, body, auth }, { ...http, excludes }),
    input(
      `ws/${name}`,
      {
        transport: 'ws',
        auth,
        steps: [
          { init: true },
          { text: { id: '1', type: 'subscribe', payload: { query, ...(variables !== undefined && { variables }) } } },
        ],
      },
      { ...wsError(code), excludes },
    ),
    input(
      `sse/${name}`,
      { transport: 'sse', method: 'POST', headers: eventStream, body, auth },
      sseRefused(code).map((e) => ({ ...e, excludes })),
    ),
  ];
}

export function productionInputs(): HostileInput[] {
  return [
    ...everywhere('introspection', '{ __schema { types { name } } }', undefined, refused(400, VALIDATION), [/__Schema/]),
    ...everywhere('field-typo', '{ custmers(first: 1) { id } }', undefined, refused(400, VALIDATION), [SUGGESTION]),
    ...everywhere('enum-literal-typo', '{ orders(status: PAIDD) { id } }', undefined, refused(400, VALIDATION), [SUGGESTION]),
    ...everywhere(
      'enum-variable-typo',
      'query Q($s: OrderStatus) { orders(status: $s) { id } }',
      { s: 'PAIDD' },
      refused(400, 'BAD_USER_INPUT'),
      [SUGGESTION],
      // Allowed to read orders: the variables are coerced (an anonymous caller gets UNAUTHORIZED first).
      { kind: 'valid', scopes: ['support'] },
    ),
    // The playground is off whatever PLAYGROUND says: a browser gets the plain-text landing page.
    input(
      'playground',
      { transport: 'http', method: 'GET', path: '/', headers: { accept: 'text/html', 'content-type': null } },
      { status: 200, excludes: [/playground|graphiql|<script/i] },
    ),
    // An undocumented subgraph error: masked (the code is documented here, as the answer the switch gives).
    input(
      'undocumented-subgraph-error',
      { transport: 'http', headers: json, body: gqlBody('{ customers(first: 1) { id } }') },
      { status: 200, code: 'INTERNAL_SERVER_ERROR', excludes: [INTERNALS] },
    ),
  ];
}

/** A stand-in subgraph (127.0.0.1, a free port) answering every request with UNDOCUMENTED_ERROR. */
export async function startUndocumentedSubgraph(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: null, errors: [UNDOCUMENTED_ERROR] }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
