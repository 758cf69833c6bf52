import { request } from 'node:http';
import { ALL_SCOPES } from '../../lib/auth/principal.ts';
import type { TokenClaims } from '../../scripts/dev-auth.ts';

/** A minimal GraphQL-over-HTTP client for tests: returns the status and the parsed body. */
export interface GraphQLResponse<D = Record<string, unknown>> {
  status: number;
  body: {
    data?: D | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  };
}

export async function postGraphQL<D = Record<string, unknown>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<D>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse<D>['body'] };
}

/** The `Authorization` header for a bearer token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/**
 * Headers of an operator with every scope, from a system's development key set: for tests of
 * delivery and serving rather than of the policy (test/integration/policy.test.ts tests that).
 * Also a graphql-ws `connection_init` payload as it is.
 */
export async function operatorHeaders(system: { token(claims?: TokenClaims): Promise<string> }): Promise<Record<string, string>> {
  return bearer(await system.token({ subject: 'test-operator', scopes: ALL_SCOPES, expiresInSeconds: 6 * 3_600 }));
}

/**
 * POSTs a body a server may refuse on its declared length, closing the connection before reading
 * it (fetch, still writing, would only see EPIPE): the head goes first, and the body only if no
 * answer came within `waitMs`.
 */
export function postHeadFirst(
  url: string,
  headers: Record<string, string>,
  body: string,
  waitMs = 500,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } });
    const later = setTimeout(() => req.end(body), waitMs);
    req.once('response', (res) => {
      clearTimeout(later);
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    req.once('error', (err) => {
      clearTimeout(later);
      reject(err);
    });
    req.flushHeaders();
  });
}
