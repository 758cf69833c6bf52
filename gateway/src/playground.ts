/**
 * The GraphiQL playground, served by the gateway itself: every script, style, worker and font is
 * inlined in one page (no CDN), so it works with no internet access. The page is rendered and
 * gzipped once, on the first visit.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Request, RequestHandler } from 'express';

const exampleQuery = `# Welcome to Interchange. Run this query with the play button (or Ctrl-Enter).
query Customers {
  customers(first: 5) {
    name
    tier
    favoriteProducts {
      name
      priceCents
      stock
    }
  }
}
`;

const authorizationHeader = (token: string) => JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);

interface Page {
  html: string;
  gzipped: Buffer;
  etag: string;
}

/** The page is ~9 MB and costs ~45 MB of memory: built on the first visit, not at start-up. */
async function renderPage(endpoint: string, token: string | undefined): Promise<Page> {
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
  const html = renderGraphiQL({
    title: 'Interchange playground',
    endpoint,
    defaultQuery: exampleQuery,
    // Subscriptions over Server-Sent Events (graphql-sse's distinct connections mode, which the
    // gateway serves at the GraphQL path too): they carry the Headers tab as HTTP headers, a token
    // included, as queries do. Over WebSocket GraphiQL would send them nowhere the gateway reads a
    // token (it reads it from connection_init).
    subscriptionsProtocol: 'GRAPHQL_SSE',
    // A newcomer's first query runs as a demo customer (`npm start` mints the token): the Headers
    // tab shows it, in the first tab and in every new one, to edit or remove.
    ...(token && { headers: authorizationHeader(token), defaultHeaders: authorizationHeader(token) }),
  });
  return { html, gzipped: gzipSync(html), etag: `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"` };
}

/** The playground at `endpoint`, opening with `token` (if any) in its Headers tab. */
export function playgroundHandler(endpoint: string, token?: string): RequestHandler {
  let page: Promise<Page> | undefined;
  return async (req, res, next) => {
    if (!wantsPage(req)) return next();
    const { html, gzipped, etag } = await (page ??= renderPage(endpoint, token));
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('etag', etag);
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('vary', 'accept, accept-encoding');
    if (req.headers['if-none-match'] === etag) return void res.status(304).end();
    if (req.acceptsEncodings('gzip') === 'gzip') {
      res.setHeader('content-encoding', 'gzip');
      return void res.send(gzipped);
    }
    res.send(html);
  };
}

/** A browser opening the page, not a GraphQL GET request (those carry `query`). */
function wantsPage(req: Request): boolean {
  return req.method === 'GET' && req.query['query'] === undefined && req.accepts(['application/json', 'text/html']) === 'text/html';
}
