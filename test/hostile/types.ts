/**
 * The shape of the hostile-input corpus: what an input sends (over HTTP, a raw TCP connection,
 * graphql-ws or Server-Sent Events), who it claims to be, and the answer the issue documents for it.
 * The corpus is data; test/hostile/send.ts sends it and test/hostile/check.ts judges the answers.
 */

/** Who an input claims to be. The runner mints or forges the token (test/hostile/credentials.ts). */
export type Credential =
  | { kind: 'none' }
  /** A token the system accepts, with a subject of the input's own (so no two inputs share a rate bucket). */
  | { kind: 'valid'; customer?: string; scopes?: readonly string[] }
  /** Accepted once: signed by the system's key, but expired a minute ago. */
  | { kind: 'expired' }
  /** A valid token with its payload rewritten (the signature no longer matches). */
  | { kind: 'tampered' }
  /** Signed by a key the gateway does not know; claims otherwise right unless overridden. */
  | { kind: 'foreign'; claims?: Record<string, unknown>; alg?: 'ES256' | 'HS256' }
  /** An unsigned token (`alg: none`). */
  | { kind: 'unsigned' }
  /** The `Authorization` value exactly as given. */
  | { kind: 'header'; value: string };

export interface HttpInput {
  transport: 'http';
  method?: string;
  /** Path and query; `/graphql` by default. */
  path?: string;
  /** Sent as they are; `content-type: application/json` unless another is given (null: none at all). */
  headers?: Record<string, string | null>;
  body?: string | Uint8Array;
  auth?: Credential;
}

/** Bytes written on a raw TCP connection to the gateway's port: for what an HTTP client would refuse to send. */
export interface TcpInput {
  transport: 'tcp';
  /** Written at once, then nothing more: an incomplete request is a slow client. */
  bytes: string | Uint8Array;
}

/** One step of a graphql-ws script. */
export type WsStep =
  /** A text frame: an object is sent as JSON, a string as it is. */
  | { text: object | string }
  | { binary: Uint8Array }
  /** connection_init with the input's credential (`{ headers: { authorization } }`), and wait for the ack. */
  | { init: true; payload?: Record<string, unknown> }
  /** Wait for a message that matches (by type and id) before going on. */
  | { await: { type: string; id?: string } };

export interface WsInput {
  transport: 'ws';
  path?: string;
  /** Subprotocols offered; graphql-transport-ws by default, [] for none. */
  protocols?: string[];
  headers?: Record<string, string>;
  auth?: Credential;
  steps: WsStep[];
}

export interface SseInput {
  transport: 'sse';
  method?: string;
  /** `/graphql/stream` by default. */
  path?: string;
  headers?: Record<string, string | null>;
  body?: string | Uint8Array;
  auth?: Credential;
}

export type Request = HttpInput | TcpInput | WsInput | SseInput;

/**
 * One acceptable answer. Every field given must hold; an input lists several when the issue allows
 * either (e.g. a long fragment chain may run or be refused by a limit, but never give a 500).
 */
export interface Expectation {
  /** HTTP status (also of a refused WebSocket upgrade, and of an SSE response). */
  status?: number | readonly number[];
  /** `extensions.code` of an error in the answer (HTTP body, WebSocket `error`/`next`, SSE `next`). */
  code?: string | readonly string[];
  /** `extensions.limit` of that error (OPERATION_LIMIT_EXCEEDED, CAPACITY_EXCEEDED). */
  limit?: readonly string[];
  /** A result with data and no errors (a control input: the limits must let it through). */
  ok?: true;
  /** The WebSocket was closed by the server with this code. */
  close?: number | readonly number[];
  /** The WebSocket must still be open (answers a ping) after the answer came. */
  open?: true;
  /** Texts that must not appear in the answer (besides the stack-trace and path patterns every answer is checked for). */
  excludes?: readonly RegExp[];
}

export interface HostileInput {
  /** Unique, `group/variant`. */
  name: string;
  /** For the summary: which case of the issue it covers. */
  group: string;
  request: Request;
  expect: Expectation | readonly Expectation[];
  /** The answer must be complete within this, in ms (stretched by TEST_TIME_SCALE). */
  deadlineMs: number;
}

/** What came back for one input, whatever the transport. */
export interface Observation {
  status?: number;
  /** The head of an HTTP response (status line and headers, also of a WebSocket upgrade's answer): checked for leaks like the texts. */
  head?: string;
  /** Response body, WebSocket messages and close reason, SSE events: everything checked for leaks. */
  texts: string[];
  /** Every error found in the answer (HTTP body, `error`/`next` payloads, SSE `next` events). */
  errors: { message?: string; extensions?: Record<string, unknown> }[];
  /** A result with data was seen. */
  data: boolean;
  close?: { code: number; reason: string };
  /** For WebSocket inputs: the socket answered a ping after the answer. */
  open?: boolean;
  /** The answer was not complete within the deadline. */
  timedOut?: boolean;
  /** The client failed (connection reset with no answer, ...). */
  failure?: string;
  elapsedMs: number;
}
