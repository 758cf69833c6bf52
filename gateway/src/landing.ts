/**
 * What `GET /` answers to anything but a browser (curl, scripts, a person checking the port): a
 * short plain-text page that says where the GraphQL endpoints are. Browsers get the playground
 * instead when it is enabled (playground.ts runs first and passes everything else on).
 */
import type { RequestHandler } from 'express';

export interface LandingPageOptions {
  /** The GraphQL endpoint (HTTP and graphql-ws), e.g. `/graphql`. */
  graphqlPath: string;
  /** The Server-Sent Events endpoint, e.g. `/graphql/stream`. */
  ssePath: string;
  /** Whether a browser opening `/` gets the playground. */
  playground: boolean;
}

export function landingPageText({ graphqlPath, ssePath, playground }: LandingPageOptions): string {
  return [
    'Interchange GraphQL gateway',
    '',
    `GraphQL:        POST ${graphqlPath} (or GET ${graphqlPath}?query=...)`,
    ...(playground ? ['playground:     open / in a browser'] : []),
    `subscriptions:  graphql-ws (graphql-transport-ws) on ${graphqlPath}`,
    `                Server-Sent Events on ${ssePath}`,
    '',
  ].join('\n');
}

export function landingPageHandler(options: LandingPageOptions): RequestHandler {
  const text = landingPageText(options);
  return (_req, res) => {
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-cache');
    // A browser asking for the same URL gets the playground.
    if (options.playground) res.setHeader('vary', 'accept');
    res.send(text);
  };
}
