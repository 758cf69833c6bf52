/**
 * How the gateway talks to one subgraph: federation's RemoteGraphQLDataSource, with Node's own
 * fetch (keep-alive, far cheaper per request than the default client), a per-request timeout that
 * the subgraph is told of (the `interchange-timeout-ms` header, lib/deadline.ts), the caller's
 * identity signed afresh for every request (the `interchange-identity` header,
 * lib/auth/signed-identity.ts), and transport failures turned into a GraphQL error with a code. The gateway then adds
 * `extensions.serviceName`, keeps serving, and returns whatever other subgraphs could resolve.
 */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { Fetcher } from '@apollo/utils.fetcher';
import { ANONYMOUS } from '../../lib/auth/principal.ts';
import { IDENTITY_HEADER, signIdentity } from '../../lib/auth/signed-identity.ts';
import { TIMEOUT_HEADER } from '../../lib/deadline.ts';
import { ErrorCode, causeOf } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { GatewayContext } from './identity.ts';

export interface SubgraphSourceOptions {
  name: string;
  url: string;
  timeoutMs: number;
  /** The secret the `interchange-identity` header is signed with. */
  identitySecret: string;
  log: Logger;
}

export class SubgraphSource extends RemoteGraphQLDataSource {
  private readonly options: SubgraphSourceOptions;

  constructor(options: SubgraphSourceOptions) {
    super({ url: options.url });
    this.options = options;
    const { timeoutMs } = options;
    // Node's fetch is compatible with what the data source uses of a fetch response. The timer starts
    // here, so the whole timeout is what the subgraph has left: it answers within it or not at all.
    this.fetcher = ((url: string, init: RequestInit) => {
      const headers = new Headers(init.headers);
      headers.set(TIMEOUT_HEADER, String(timeoutMs));
      return fetch(url, { ...init, headers, signal: AbortSignal.timeout(timeoutMs) });
    }) as unknown as Fetcher;
  }

  /**
   * Passes the caller's forwarded headers (identity.ts) on to the subgraph, then the signed identity,
   * which replaces any header of that name: only the gateway vouches for who is calling. A request
   * without a principal (none of the gateway's own) goes as the anonymous caller, never as anyone else.
   */
  override willSendRequest({
    request,
    context,
  }: {
    request: { http?: { headers: { set(name: string, value: string): void } } };
    context: unknown;
  }): void {
    if (!request.http) return;
    const { headers, principal } = (context ?? {}) as Partial<GatewayContext>;
    for (const [name, value] of Object.entries(headers ?? {})) request.http.headers.set(name, value);
    request.http.headers.set(IDENTITY_HEADER, signIdentity(principal ?? ANONYMOUS, this.options.identitySecret));
  }

  override async process(options: GraphQLDataSourceProcessOptions): Promise<GatewayGraphQLResponse> {
    try {
      return await super.process(options);
    } catch (err) {
      const reason = describe(err, this.options.timeoutMs);
      this.options.log.warn({ subgraph: this.options.name, url: this.options.url, reason }, 'subgraph request failed');
      return {
        errors: [
          {
            message: `subgraph "${this.options.name}" is unavailable: ${reason}`,
            extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE },
          },
        ],
      } as GatewayGraphQLResponse;
    }
  }
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  return causeOf(err);
}
