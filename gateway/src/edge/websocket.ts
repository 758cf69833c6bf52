/**
 * The edge on graphql-ws: a cap on the sockets a client holds (checked at connection_init, when the
 * client is known; over it the socket closes with 4429), a cap on the operations open on one socket,
 * and each operation charged to its client's rate (the operation gets the error; the socket stays).
 */
import type { GraphQLError } from 'graphql';
import type { Context } from 'graphql-ws';
import type { WebSocketExtra } from '../../../lib/graphql-ws.ts';
import type { ConnectionIdentity } from '../auth/authenticate.ts';
import { clientKey, principalIn } from './client.ts';
import type { KeyedCounts } from './counts.ts';
import type { ClientRate } from './rate.ts';
import { EdgeLimit, type Refusals } from './refusals.ts';

/** Close code for a socket refused by a cap: 4000-4999 is the application's, and 429 says "too many". */
export const CAPACITY_CLOSE_CODE = 4429;

type WsContext = Context<Record<string, unknown> | undefined, WebSocketExtra & ConnectionIdentity>;

export class WebSocketEdge {
  private readonly sockets: KeyedCounts;
  private readonly maxOperations: number;
  private readonly rate: ClientRate;
  private readonly refusals: Refusals;

  constructor(options: { sockets: KeyedCounts; maxOperations: number; rate: ClientRate; refusals: Refusals }) {
    this.sockets = options.sockets;
    this.maxOperations = options.maxOperations;
    this.rate = options.rate;
    this.refusals = options.refusals;
  }

  /** The socket's client: the principal connection_init verified (`ctx.extra.principal`), else its address. */
  client(ctx: WsContext): string {
    return clientKey(principalIn(ctx.extra), ctx.extra.request.socket.remoteAddress);
  }

  /** For onConnect: counts the socket against its client until it closes; false (closed with 4429) over the cap. */
  admit(ctx: WsContext): boolean {
    const release = this.sockets.acquire(this.client(ctx));
    if (release) {
      ctx.extra.socket.once('close', release);
      return true;
    }
    const error = this.refusals.capacityExceeded(EdgeLimit.WEBSOCKETS_PER_CLIENT, this.sockets.max, 'WebSocket connections of this client');
    ctx.extra.socket.close(CAPACITY_CLOSE_CODE, `${error.code}: ${error.message}`);
    return false;
  }

  /** For onSubscribe: the errors the operation gets instead of running, if it is refused. */
  async refuse(ctx: WsContext): Promise<GraphQLError[] | undefined> {
    // graphql-ws lists the operation being subscribed already.
    if (Object.keys(ctx.subscriptions).length > this.maxOperations)
      return [this.refusals.capacityExceeded(EdgeLimit.SUBSCRIPTIONS_PER_SOCKET, this.maxOperations, 'operations on this WebSocket')];
    const retryAfterMs = await this.rate.take(this.client(ctx));
    return retryAfterMs === undefined ? undefined : [this.refusals.rateLimited(EdgeLimit.OPERATION_RATE, retryAfterMs)];
  }
}
