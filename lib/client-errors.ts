/**
 * Node answers a request it cannot even parse (bad request line, headers too large, a client too
 * slow to send its request) itself, before express sees it, with a bare status line and no body.
 * Here those answers are GraphQL-shaped JSON with a code like every other refusal, on the client
 * port and the ops listener alike.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from './errors.ts';

/** The status and message for a parser or timeout error Node reports as `clientError`. */
function answerFor(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'the request headers are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'the request did not arrive in time' };
    default:
      return { status: 400, message: 'the request could not be parsed as HTTP' };
  }
}

/** One raw HTTP response with a JSON body, closing the connection. */
export function rawJsonResponse(status: number, body: string): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** A GraphQL-shaped error response body with one coded error. */
export const errorBody = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

export const errorJson = (message: string, code: string): string => JSON.stringify(errorBody(message, code));

/** Makes `server` answer unparseable and too-slow requests with coded JSON instead of Node's bare status line. */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset connection has nobody to answer; a response already started cannot take another.
    const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (err.code === 'ECONNRESET' || !socket.writable || started) {
      socket.destroy();
      return;
    }
    const { status, message } = answerFor(err.code);
    socket.end(rawJsonResponse(status, errorJson(message, ErrorCode.BAD_REQUEST)));
  });
}
