/**
 * The settings every GraphQL process (gateway and subgraphs) has for its edge: where the ops
 * listener is (`/metrics` and the detailed `/readyz`, kept off the client port), and how long a
 * client may take to send its request headers and its whole request before Node cuts it (408).
 */
import { setting } from './config.ts';

export const edgeSettings = {
  /** Port of the ops listener (`/metrics`, detailed `/readyz`, `/healthz`); 0 picks a free one (listener `ops`). */
  OPS_PORT: setting.port(0),
  /** Address of the ops listener: loopback by default, so only this host (or its scraper) can reach it. */
  OPS_HOST: setting.host('127.0.0.1'),
  /** How long a client may take to send its request headers, in ms (then 408 and the connection is closed). */
  HEADERS_TIMEOUT_MS: setting.millis(10_000),
  /** How long a client may take to send its whole request, headers and body, in ms (then 408). */
  REQUEST_TIMEOUT_MS: setting.millis(30_000),
};

export interface EdgeOptions {
  opsHost: string;
  opsPort: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface EdgeConfig {
  OPS_PORT: number;
  OPS_HOST: string;
  HEADERS_TIMEOUT_MS: number;
  REQUEST_TIMEOUT_MS: number;
}

export const edgeOptions = (config: EdgeConfig): EdgeOptions => ({
  opsHost: config.OPS_HOST,
  opsPort: config.OPS_PORT,
  headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
  requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
});

/** The edge of a process started in a test without a config: ops on a free loopback port, the default timeouts. */
export const DEFAULT_EDGE: EdgeOptions = { opsHost: '127.0.0.1', opsPort: 0, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };
