/**
 * The GraphiQL playground, served by the gateway itself: every script, style, worker and font is
 * inlined in one page (no CDN), so it works with no internet access. The page is rendered and
 * gzipped once at start-up.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
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

export function playgroundHandler(endpoint: string): RequestHandler {
  const html = renderGraphiQL({
    title: 'Interchange playground',
    endpoint,
    defaultQuery: exampleQuery,
    subscriptionsProtocol: 'WS',
  });
  const gzipped = gzipSync(html);
  const etag = `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`;
  return (req, res, next) => {
    if (!wantsPage(req)) return next();
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
