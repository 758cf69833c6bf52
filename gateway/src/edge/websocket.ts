/**
 * The edge on graphql-ws: caps on the sockets open, a cap on the operations open on one socket, and
 * each operation charged to its client's rate (the operation gets the error; the socket stays).
 *
 * A socket counts from its upgrade, before it has sent anything: against MAX_WEBSOCKETS for all
 * clients (503 over it) and against its client, by address since no token is known yet (429 over
 * MAX_WEBSOCKETS_PER_CLIENT), both as coded JSON before any WebSocket exists. When connection_init
 * verifies a token, the socket counts against the token's subject instead (closed with 4429 when
 * that subject holds its cap already). It stops counting when its TCP connection closes.
 */
import type { IncomingMessage } from 'node:http';
import type { GraphQLError } from 'graphql';
import type { Context } from 'graphql-ws';
import type { WebSocketExtra } from '../../../lib/graphql-ws.ts';
import type { ConnectionIdentity } from '../auth/authenticate.ts';
import { httpClient } from './client.ts';
import { KeyedCounts } from './counts.ts';
import type { ClientRate } from './rate.ts';
import { EdgeLimit, errorBody, type Refusals } from './refusals.ts';

/** Close code for a socket refused by a cap: 4000-4999 is the application's, and 429 says "too many". */
export const CAPACITY_CLOSE_CODE = 4429;

type WsContext = Context<Record<string, unknown> | undefined, WebSocketExtra & ConnectionIdentity>;

/** Which client a socket counts against now, and the release of that count. */
interface Hold {
  client: string;
  release: () => void;
  /** Its connection closed: nothing is counted for it any more. */
  closed: boolean;
}

export class WebSocketEdge {
  private readonly sockets: KeyedCounts;
  private readonly all: KeyedCounts;
  private readonly maxOperations: number;
  private readonly rate: ClientRate;
  private readonly refusals: Refusals;
  /** Each upgraded socket's count against its client, by its upgrade request. */
  private readonly holds = new WeakMap<IncomingMessage, Hold>();

  constructor(options: { sockets: KeyedCounts; maxSockets: number; maxOperations: number; rate: ClientRate; refusals: Refusals }) {
    this.sockets = options.sockets;
    this.all = new KeyedCounts(options.maxSockets);
    this.maxOperations = options.maxOperations;
    this.rate = options.rate;
    this.refusals = options.refusals;
  }

  /** The socket's client: the principal connection_init verified (`ctx.extra.principal`, read as the request's), else its address. */
  client(ctx: WsContext): string {
    return httpClient(ctx.extra.request, { locals: ctx.extra });
  }

  /** For the upgrade request: counts the socket until its connection closes; the coded HTTP answer over a cap. */
  upgrade(request: IncomingMessage): { status: number; body: string } | undefined {
    const counted = this.all.acquire('');
    if (!counted)
      return { status: 503, body: errorBody(this.refusals.capacityExceeded(EdgeLimit.WEBSOCKETS, this.all.max, 'WebSocket connections')) };
    const client = httpClient(request, undefined);
    const release = this.sockets.acquire(client);
    if (!release) {
      counted();
      return { status: 429, body: errorBody(this.overCap()) };
    }
    const hold: Hold = { client, release, closed: false };
    this.holds.set(request, hold);
    const end = () => {
      hold.closed = true;
      counted();
      hold.release();
    };
    if (request.socket.destroyed) end();
    else request.socket.once('close', end);
    return undefined;
  }

  /**
   * For onConnect: a socket whose connection_init verified a subject counts against that subject
   * from now on instead of its address; false (closed with 4429) when the subject holds its cap.
   */
  admit(ctx: WsContext): boolean {
    const client = this.client(ctx);
    const hold = this.holds.get(ctx.extra.request);
    // Closed while its token was being verified: there is nothing left to count.
    if (hold?.closed) return false;
    if (hold?.client === client) return true;
    const release = this.sockets.acquire(client);
    if (!release) {
      const error = this.overCap();
      ctx.extra.socket.close(CAPACITY_CLOSE_CODE, `${error.code}: ${error.message}`);
      return false;
    }
    if (hold) {
      hold.release();
      Object.assign(hold, { client, release });
    } else {
      // Not counted at its upgrade (no edge there): counted from now.
      ctx.extra.socket.once('close', release);
    }
    return true;
  }

  /** For onSubscribe: the errors the operation gets instead of running, if it is refused. */
  async refuse(ctx: WsContext): Promise<GraphQLError[] | undefined> {
    // graphql-ws lists the operation being subscribed already.
    if (Object.keys(ctx.subscriptions).length > this.maxOperations)
      return [this.refusals.capacityExceeded(EdgeLimit.SUBSCRIPTIONS_PER_SOCKET, this.maxOperations, 'operations on this WebSocket')];
    const retryAfterMs = await this.rate.take(this.client(ctx));
    return retryAfterMs === undefined ? undefined : [this.refusals.rateLimited(EdgeLimit.OPERATION_RATE, retryAfterMs)];
  }

  private overCap() {
    return this.refusals.capacityExceeded(EdgeLimit.WEBSOCKETS_PER_CLIENT, this.sockets.max, 'WebSocket connections of this client');
  }
}
