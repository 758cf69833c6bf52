/**
 * The HTTP pieces both example services share: JSON and RFC 9457 problem answers, and the
 * operational endpoints (`GET /healthz`, `GET /metrics`) that the REST service mounts in its app and
 * the gRPC service serves from a small listener of its own.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** RFC 9457 problem details (schema/openapi/customers.yaml `Problem`). */
export interface Problem {
  /** Always `about:blank`: the status says what kind of problem it is. */
  type: string;
  /** The HTTP status phrase, e.g. "Bad Request". */
  title: string;
  status: number;
  /** What was wrong with this request, for a person. */
  detail: string;
  /** Extension members, e.g. `parameter` on a bad parameter. */
  [extension: string]: unknown;
}

export function problem(status: number, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, ...extensions };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = JSON_CONTENT_TYPE,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendProblem(res: ServerResponse, body: Problem, headers: Record<string, string> = {}): void {
  sendJson(res, body.status, body, PROBLEM_CONTENT_TYPE, headers);
}

const opsPaths = new Set(['/healthz', '/metrics']);

/**
 * Answers `/healthz` (`{"status":"ok"}`) and `/metrics` (Prometheus text of `registry`) and returns
 * true; returns false, without touching `res`, for any other path.
 */
export function handleOpsRequest(registry: Registry, req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  if (!opsPaths.has(path)) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendProblem(res, problem(405, `${path} answers GET only`), { allow: 'GET, HEAD' });
  } else if (path === '/healthz') {
    sendJson(res, 200, { status: 'ok' });
  } else {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      () => sendProblem(res, problem(500, 'could not collect metrics')),
    );
  }
  return true;
}

/** A listener that serves only the operational endpoints (404 problem for anything else). */
export function createOpsServer(registry: Registry): Server {
  return createServer((req, res) => {
    if (!handleOpsRequest(registry, req, res)) sendProblem(res, problem(404, `no route for ${req.method} ${req.url}`));
  });
}
