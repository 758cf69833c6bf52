/**
 * Admission on each transport: Apollo Server's HTTP endpoint (GET and POST), graphql-ws and
 * graphql-sse. On WebSocket and SSE the gateway's `onSubscribe` hands the transport the admitted
 * document: graphql-ws then skips its own validation, so it is validated here with GraphQL's
 * standard rules; graphql-sse always validates what it is given (and answers validation errors in
 * the event stream). Either way, only bounded documents reach validation.
 */
import type { RequestHandler } from 'express';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Response as SseResponse } from 'graphql-sse';
import { ErrorCode, InterchangeError } from '../../../lib/errors.ts';
import { type Admission, type RequestParams } from './admission.ts';
import { PersistedQueryNotFound } from './registered-queries.ts';

/** A refusal answered as JSON: the error as it is (an InterchangeError's code in its extensions). */
const errorBody = (error: GraphQLError) => JSON.stringify({ errors: [error.toJSON()] });

/**
 * What a GET request carries in its query string, read as Apollo Server reads it (URLSearchParams
 * on the raw URL; a parameter given twice is Apollo Server's to refuse), not from Express's parsed
 * `req.query`, which stops at 1,000 parameters: `variables` and `extensions` are JSON text.
 */
function paramsOfGet(url: string): RequestParams | undefined {
  // The query string alone: a request target in absolute form may not parse as a URL (a bad port).
  const mark = url.indexOf('?');
  const search = new URLSearchParams(mark < 0 ? '' : url.slice(mark + 1));
  const once = (name: string) => {
    const values = search.getAll(name);
    return values.length === 1 ? values[0] : undefined;
  };
  const json = (text: string | undefined) => (text === undefined ? undefined : (JSON.parse(text) as unknown));
  try {
    return {
      query: once('query'),
      operationName: once('operationName'),
      variables: json(once('variables')),
      extensions: json(once('extensions')),
    };
  } catch {
    return undefined; // Apollo Server answers malformed JSON itself
  }
}

/**
 * Express middleware between the body parser and Apollo Server: refuses with 400 what admission
 * refuses, and hands Apollo Server the document admission found when the request named it by id
 * (a trusted document, or an APQ hash sent alone); an unknown APQ hash gets Apollo Server's own
 * answer, PERSISTED_QUERY_NOT_FOUND with status 200. `admission` is the served supergraph's.
 */
export function admissionMiddleware(admission: () => Admission): RequestHandler {
  return (req, res, next) => {
    const get = req.method === 'GET';
    const body: unknown = req.body;
    const params = get ? paramsOfGet(req.url) : (body as RequestParams | undefined);
    // Batches and non-objects are Apollo Server's to refuse.
    if (!params || typeof params !== 'object' || Array.isArray(params)) return next();
    let admitted;
    try {
      admitted = admission().admit(params);
    } catch (err) {
      if (!(err instanceof GraphQLError)) return next(err);
      const notFound = err instanceof PersistedQueryNotFound;
      if (notFound) res.set('cache-control', 'private, no-cache, must-revalidate');
      res
        .status(notFound ? 200 : 400)
        .type('application/json')
        .send(errorBody(err));
      return;
    }
    if (admitted.query !== undefined && admitted.query !== params.query) {
      if (get) {
        const url = new URL(req.url, 'http://localhost');
        url.searchParams.set('query', admitted.query);
        req.url = `${url.pathname}${url.search}`;
      } else (body as RequestParams).query = admitted.query;
    }
    next();
  };
}

export interface AdmittedOperation {
  document: DocumentNode;
  operationName: string | undefined;
  variableValues: Record<string, unknown> | undefined;
}

/** A validation whose errors carry codes (lib/graphql-validation.ts `codedValidate`). */
export type CodedValidate = (schema: GraphQLSchema, document: DocumentNode) => GraphQLError[];

/**
 * Admission, and `validation` (with its schema) when the transport does not validate, for
 * transports that run the document themselves.
 */
export function admitOperation(
  admission: Admission,
  params: RequestParams,
  validation?: { schema: GraphQLSchema; validate: CodedValidate },
): AdmittedOperation | readonly GraphQLError[] {
  // graphql-sse would run a document whose operationName is not a string as if it had none.
  if (params.operationName !== undefined && params.operationName !== null && typeof params.operationName !== 'string')
    return [new InterchangeError(ErrorCode.BAD_REQUEST, '"operationName" must be a string')];
  let document: DocumentNode;
  try {
    ({ document } = admission.document(params));
  } catch (err) {
    if (err instanceof GraphQLError) return [err];
    throw err;
  }
  const invalid = validation ? validation.validate(validation.schema, document) : [];
  if (invalid.length > 0) return invalid;
  return {
    document,
    operationName: typeof params.operationName === 'string' ? params.operationName : undefined,
    variableValues: (params.variables ?? undefined) as Record<string, unknown> | undefined,
  };
}

/**
 * Over WebSocket: the execution arguments (graphql-ws adds the context), or the errors the
 * operation gets. graphql-ws does not validate arguments it is handed, so `validate` does.
 */
export function admitOverWebSocket(admission: Admission, schema: GraphQLSchema, params: RequestParams, validate: CodedValidate) {
  const admitted = admitOperation(admission, params, { schema, validate });
  return Array.isArray(admitted) ? (admitted as GraphQLError[]) : { schema, ...(admitted as AdmittedOperation) };
}

/** Over Server-Sent Events: the execution arguments with their context, or a 400 with the errors. */
export function admitOverSse<Ctx>(admission: Admission, schema: GraphQLSchema, params: RequestParams, contextValue: Ctx) {
  const admitted = admitOperation(admission, params);
  if (Array.isArray(admitted)) {
    const response: SseResponse = [
      JSON.stringify({ errors: (admitted as GraphQLError[]).map((e) => e.toJSON()) }),
      { status: 400, statusText: 'Bad Request', headers: { 'content-type': 'application/json; charset=utf-8' } },
    ];
    return response;
  }
  return { schema, ...(admitted as AdmittedOperation), contextValue };
}
