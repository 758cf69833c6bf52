/**
 * How the gateway talks to one subgraph: GraphQL over HTTP POST on a pool of keep-alive connections
 * (undici's `Pool`), at most `connections` of them at once; requests beyond that wait in the pool's
 * queue, so no load can open connections (and file descriptors) without bound. Every request has
 * one deadline, from when it was asked for (queueing included), that the subgraph is told of (the
 * `interchange-timeout-ms` header, lib/deadline.ts); the caller's identity is signed afresh for every
 * request (the `interchange-identity` header, lib/auth/signed-identity.ts); the caller's forwarded
 * headers go along.
 *
 * Identical queries in flight (same subgraph, document, variables and caller) are sent once: the
 * later callers wait for the first one's answer and each parses its own copy (merging writes into
 * it). Mutations are never shared.
 *
 * A subgraph that gives no usable answer (unreachable, too slow, an HTTP error status, a body that
 * is not a JSON object) resolves as an answer with one `SUBGRAPH_UNAVAILABLE` error naming it; what
 * it said goes to the log, not to the client. Nothing here rejects.
 */
import { STATUS_CODES } from 'node:http';
import { Pool } from 'undici';
import type { Principal } from '../../../lib/auth/principal.ts';
import { ANONYMOUS } from '../../../lib/auth/principal.ts';
import { IDENTITY_HEADER, signIdentity } from '../../../lib/auth/signed-identity.ts';
import { TIMEOUT_HEADER } from '../../../lib/deadline.ts';
import { ErrorCode, causeOf } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/logger.ts';
import { EntityBatcher, withoutName } from './entity-batch.ts';
import type { SubgraphAnswer } from './execute-plan.ts';

export interface SubgraphClientOptions {
  name: string;
  url: string;
  timeoutMs: number;
  /** Connections to the subgraph at most; requests beyond wait their turn. */
  connections: number;
  /** Largest answer read, in bytes. */
  maxResponseBytes: number;
  /** The secret the `interchange-identity` header is signed with. */
  identitySecret: string;
  log: Logger;
}

export interface SubgraphRequest {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string | undefined;
}

/** Who is asking: forwarded headers and the verified principal (identity.ts). */
export interface Caller {
  headers?: Record<string, string> | undefined;
  principal?: Principal | undefined;
}

/** Why a request got no answer, for the log and the client's error. */
function reasonOf(err: unknown, timedOut: boolean, options: SubgraphClientOptions): string {
  if (timedOut) return `no answer within ${options.timeoutMs} ms`;
  const code = causeOf(err);
  return code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE' ? `the answer is larger than ${options.maxResponseBytes} bytes` : code;
}

/** How a request may be sent (`SubgraphClient.send`). */
export type SendMode = 'own' | 'share' | 'batch';

/** What identifies a caller to a subgraph: requests of one key may be shared. */
const callerKeyOf = (caller: Caller): string =>
  `${JSON.stringify(caller.headers ?? {})}\u0000${JSON.stringify(caller.principal ?? ANONYMOUS)}`;

/** The longest part of an unusable body quoted in the log (never in the client's error). */
const QUOTED_BODY_CHARS = 200;

export class SubgraphClient {
  readonly name: string;
  readonly url: string;
  private readonly options: SubgraphClientOptions;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly inFlight = new Map<string, Promise<string | SubgraphAnswer>>();
  private readonly batcher = new EntityBatcher<Caller>((request, caller) => this.shared(request, caller, callerKeyOf(caller)));

  constructor(options: SubgraphClientOptions) {
    this.options = options;
    this.name = options.name;
    this.url = options.url;
    const url = new URL(options.url);
    this.path = `${url.pathname}${url.search}`;
    this.pool = new Pool(url.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connectTimeout: options.timeoutMs,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      maxResponseSize: options.maxResponseBytes,
    });
  }

  /**
   * Sends a request. `own`: as it is. `share`: an identical request in flight (the same document but
   * for its operation name, the same variables and caller) answers it too (queries only). `batch`: an
   * `_entities` request goes with the others of the same selection and caller asked for in this turn
   * of the event loop (entity-batch.ts), each distinct representation once.
   */
  async send(request: SubgraphRequest, caller: Caller, mode: SendMode): Promise<SubgraphAnswer> {
    if (mode === 'own') return this.parse(await this.post(JSON.stringify(request), caller));
    const callerKey = callerKeyOf(caller);
    if (mode === 'batch') return this.batcher.load(request, caller, callerKey);
    return this.shared(request, caller, callerKey);
  }

  private async shared(request: SubgraphRequest, caller: Caller, callerKey: string): Promise<SubgraphAnswer> {
    const key = `${withoutName(request.query, request.operationName)}\u0000${JSON.stringify(request.variables)}\u0000${callerKey}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.post(JSON.stringify(request), caller).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return this.parse(await pending);
  }

  /** Closes the pool's connections once the requests it has are done. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  /** The answer's body (JSON text), or an answer with the error that says why there is none. */
  private async post(body: string, caller: Caller): Promise<string | SubgraphAnswer> {
    const { timeoutMs } = this.options;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const headers: Record<string, string> = { ...caller.headers };
      headers['content-type'] = 'application/json';
      headers['accept'] = 'application/json';
      headers[TIMEOUT_HEADER] = String(timeoutMs);
      headers[IDENTITY_HEADER] = signIdentity(caller.principal ?? ANONYMOUS, this.options.identitySecret);
      const response = await this.pool.request({ path: this.path, method: 'POST', headers, body, signal: abort.signal });
      const text = await response.body.text();
      if (response.statusCode < 200 || response.statusCode > 299) {
        return this.unavailable(`${response.statusCode}: ${STATUS_CODES[response.statusCode] ?? 'Unknown'}`, text);
      }
      const contentType = String(response.headers['content-type'] ?? '');
      const json = contentType.startsWith('application/json') || contentType.startsWith('application/graphql-response+json');
      if (!json || !text.trimStart().startsWith('{')) {
        return this.unavailable(`the answer is not a JSON object (${contentType || 'no content type'})`, text);
      }
      return text;
    } catch (err) {
      return this.unavailable(reasonOf(err, abort.signal.aborted, this.options));
    } finally {
      clearTimeout(timer);
    }
  }

  private unavailable(reason: string, body?: string): SubgraphAnswer {
    this.options.log.warn(
      { subgraph: this.name, url: this.url, reason, ...(body !== undefined && { body: body.slice(0, QUOTED_BODY_CHARS) }) },
      'subgraph request failed',
    );
    return {
      errors: [{ message: `subgraph "${this.name}" is unavailable: ${reason}`, extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE } }],
    };
  }

  /** Each caller's own copy of an answer (merging writes into it). */
  private parse(answer: string | SubgraphAnswer): SubgraphAnswer {
    if (typeof answer !== 'string') return answer;
    try {
      return JSON.parse(answer) as SubgraphAnswer;
    } catch {
      // The parser's message quotes the body: it goes to the log, not to the client.
      return this.unavailable('the answer is not valid JSON', answer);
    }
  }
}
