/**
 * The benchmark's load: a closed loop (autocannon), N connections each sending its next request as
 * soon as its last one is answered, for a fixed time. Every response time is kept (percentiles over
 * several rounds are computed from all of them, not averaged), and a response whose body carries
 * GraphQL `errors` is counted apart: a gateway that fails fast must not look fast.
 */
import autocannon from 'autocannon';
import { ID_PLACEHOLDER } from './query.ts';

export interface LoadOptions {
  /** The gateway's GraphQL endpoint. */
  url: string;
  /** The request body; with `unique`, each ID_PLACEHOLDER in it is replaced by a new id per request. */
  body: string;
  unique: boolean;
  connections: number;
  seconds: number;
}

export interface LoadResult {
  /** Responses received in the window (any status). */
  responses: number;
  /** Requests sent, answered or not (the gateway serves those still in flight at the end too). */
  sent: number;
  seconds: number;
  /** Each response's time, in ms. */
  latenciesMs: number[];
  /** Responses with a status other than 2xx. */
  non2xx: number;
  /** 2xx responses whose body has GraphQL `errors`. */
  graphqlErrors: number;
  /** Connection errors and timeouts. */
  connectionErrors: number;
}

/** Requests a connection may wait for an answer before autocannon counts a timeout, in seconds. */
const TIMEOUT_SECONDS = 30;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.unique && !options.body.includes(ID_PLACEHOLDER)) throw new Error(`a unique request's body must carry ${ID_PLACEHOLDER}`);
  const latenciesMs: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: options.body,
        idReplacement: options.unique,
        connections: options.connections,
        duration: options.seconds,
        timeout: TIMEOUT_SECONDS,
        // A failing check is counted in `mismatches`.
        verifyBody: (body) => !String(body).includes('"errors":'),
      },
      (err: unknown, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latenciesMs.push(responseTime));
  });
  return {
    responses: latenciesMs.length,
    sent: result.requests.sent,
    seconds: result.duration,
    latenciesMs,
    non2xx: result.non2xx,
    graphqlErrors: result.mismatches,
    connectionErrors: result.errors,
  };
}
