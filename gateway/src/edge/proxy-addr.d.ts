/** The part of `proxy-addr` (express's own, which ships no types) the edge uses. */
declare module 'proxy-addr' {
  import type { IncomingMessage } from 'node:http';

  /** Whether the peer at `address` (`hop` steps from the socket) is a proxy whose `X-Forwarded-For` is believed. */
  type Trust = (address: string, hop: number) => boolean;

  /** The closest address that is not a trusted proxy: the socket's, or one `X-Forwarded-For` names through trusted proxies. */
  function proxyaddr(req: Pick<IncomingMessage, 'headers' | 'socket'>, trust: Trust): string;

  namespace proxyaddr {
    export type { Trust };
    /** A trust function for addresses, CIDR ranges and the names `loopback`, `linklocal`, `uniquelocal`; throws TypeError on anything else. */
    export function compile(values: string[]): Trust;
  }

  export default proxyaddr;
}
