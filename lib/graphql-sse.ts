/**
 * GraphQL over Server-Sent Events (graphql-sse) on express, with coded errors: graphql-sse's own
 * refusals (a body it cannot use, an unknown stream token, a stream already open, a query that does
 * not parse...) come as `{ errors: [{ message }] }` without `extensions.code`, or with no body at
 * all. Here every 4xx answer is GraphQL-shaped JSON whose errors carry a code: GRAPHQL_PARSE_FAILED
 * for a syntax error, NOT_FOUND for an unknown stream, BAD_REQUEST otherwise. graphql-sse's express
 * adapter writes the response itself, so this is that adapter's binding (request in, response
 * out) with the rewrite in between; the gateway's edge (gateway/src/edge/sse.ts) runs the core
 * handler between the two.
 */
import type { Request, Response } from 'express';
import { type HandlerOptions, type OperationContext, type Request as SseRequest, type ResponseInit } from 'graphql-sse';
import type { RequestContext } from 'graphql-sse/lib/use/express';
import { ErrorCode } from './errors.ts';
import { GRAPHQL_PARSE_FAILED } from './graphql-validation.ts';

export type SseHandlerOptions<Context extends OperationContext> = HandlerOptions<Request, RequestContext, Context> & {
  /**
   * Bounds a body express.json did not take (not JSON, and without a Content-Length, so the
   * declared-length check let it through): graphql-sse reads those as text.
   */
  bodyLimitBytes: number;
};

interface SentError {
  message?: unknown;
  extensions?: Record<string, unknown>;
}

function codeFor(status: number, message: unknown): string {
  if (typeof message === 'string' && message.startsWith('Syntax Error')) return GRAPHQL_PARSE_FAILED;
  return status === 404 ? ErrorCode.NOT_FOUND : ErrorCode.BAD_REQUEST;
}

/** A 4xx answer's body with a code on every error (and a body where graphql-sse sent none). */
export function codedErrorBody(status: number, statusText: string | undefined, body: string | null): string {
  let errors: SentError[] | undefined;
  try {
    errors = body ? (JSON.parse(body) as { errors?: SentError[] }).errors : undefined;
  } catch {
    errors = undefined;
  }
  const coded = (errors ?? [{ message: statusText || 'the request was refused' }]).map((error) => ({
    ...error,
    extensions: { ...error.extensions, code: error.extensions?.['code'] ?? codeFor(status, error.message) },
  }));
  return JSON.stringify({ errors: coded });
}

/** graphql-sse's view of an express request; a body express.json did not take is read as text, bounded. */
export function sseRequest(req: Request, res: Response, bodyLimitBytes: number): SseRequest<Request, RequestContext> {
  return {
    method: req.method,
    url: req.originalUrl,
    headers: {
      get(key: string) {
        const header = req.headers[key];
        return Array.isArray(header) ? header.join('\n') : (header ?? null);
      },
    },
    body: () => (req.body ? Promise.resolve(req.body as Record<string, unknown>) : text(req, bodyLimitBytes)),
    raw: req,
    context: { res },
  };
}

/** graphql-sse's answer on the response: a 4xx as coded JSON, a stream one event at a time until either side ends it. */
export async function sendSse(res: Response, body: string | null | AsyncGenerator<string>, init: ResponseInit): Promise<void> {
  if (init.status >= 400 && (body === null || typeof body === 'string')) {
    res.writeHead(init.status, init.statusText, { ...init.headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(codedErrorBody(init.status, init.statusText, body));
    return;
  }
  await send(res, body, init);
}

/**
 * A body express.json left alone (not JSON), as text: graphql-sse says what it makes of it. Past
 * the limit the rest is not read: graphql-sse gets what came so far, which it cannot parse.
 */
function text(req: Request, limitBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    let bytes = 0;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      bytes += Buffer.byteLength(chunk);
      if (bytes <= limitBytes) return;
      req.pause();
      req.removeAllListeners('data');
      resolve(body.slice(0, limitBytes));
    });
    req.once('error', reject);
    req.once('end', () => resolve(body));
  });
}

async function send(res: Response, body: string | null | AsyncGenerator<string>, init: ResponseInit): Promise<void> {
  res.writeHead(init.status, init.statusText, init.headers);
  if (!body || typeof body === 'string') {
    res.end(body);
    return;
  }
  const stop = () => void body.return(undefined);
  res.once('close', stop);
  for await (const value of body) {
    if (!res.writable) break; // the close event may come late
    const written = await new Promise<boolean>((resolve, reject) => res.write(value, (err) => (err ? reject(err) : resolve(true))));
    if (!written) break;
  }
  res.off('close', stop);
  // Not waiting for 'finish': a response whose client went away never emits it.
  res.end();
}
