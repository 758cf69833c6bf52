/**
 * Which pages may open a WebSocket to the gateway. Browsers send no CSRF-preventing preflight for a
 * WebSocket, so without this check a page on any site could run mutations with its visitor's
 * credentials. Allowed: clients that send no `Origin` (not browsers), same-origin pages (the
 * Origin's host is the Host header: the playground), and the origins of ALLOWED_ORIGINS (`*` for any).
 */
import type { IncomingMessage } from 'node:http';

/** The refused `Origin` of an upgrade request, or undefined when it may go on. */
export function refusedOrigin(request: IncomingMessage, allowed: readonly string[]): string | undefined {
  const origin = request.headers.origin;
  if (origin === undefined || allowed.includes('*')) return undefined;
  const parsed = URL.canParse(origin) ? new URL(origin) : undefined;
  if (parsed && parsed.host === request.headers.host) return undefined;
  if (parsed && allowed.some((entry) => URL.canParse(entry) && new URL(entry).origin === parsed.origin)) return undefined;
  return origin;
}
