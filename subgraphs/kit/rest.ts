/**
 * A JSON-over-HTTP client for backend REST services, every call under a `CallPolicy`.
 * GET requests are idempotent and so may be retried. A 404 answers `null` ("no such resource", a
 * null field) only for a call whose contract declares it (`absentOn404`); anywhere else it is an
 * UPSTREAM_BAD_RESPONSE, so a wrong route is never silently null or `[]`. The error names the
 * backend and its status, never the path or the body (which may echo the path): clients learn no
 * backend route. The log line has both.
 */
import { ErrorCode, causeOf } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { createCallPolicy, UpstreamFailure, type CallPolicy, type ResilienceOptions } from './resilience.ts';

export interface RestClientOptions extends ResilienceOptions {
  /** Base URL of the service, e.g. http://127.0.0.1:4201 */
  baseUrl: string;
  /** Where a 4xx the contract does not declare is logged, with the path and the body. */
  log?: Logger | undefined;
}

/** Query parameters; a list is sent as the parameter repeated. */
type Query = Record<string, string | number | readonly string[] | undefined>;

export class RestClient {
  readonly policy: CallPolicy;
  private readonly baseUrl: URL;

  private readonly options: RestClientOptions;

  constructor(options: RestClientOptions) {
    this.options = options;
    this.policy = createCallPolicy(options);
    this.baseUrl = new URL(options.baseUrl);
  }

  /**
   * GETs `path` with query parameters (a list is sent as the parameter repeated: `ids=a&ids=b`);
   * resolves the parsed JSON body. With `absentOn404` (the operation's contract answers 404 for a
   * resource that does not exist) a 404 resolves null.
   */
  getJson<T>(path: string, query?: Query): Promise<T>;
  getJson<T>(path: string, query: Query, options: { absentOn404: true }): Promise<T | null>;
  getJson<T>(path: string, query: Query = {}, options: { absentOn404?: boolean } = {}): Promise<T | null> {
    const url = new URL(path, this.baseUrl);
    for (const [key, value] of Object.entries(query)) {
      if (typeof value === 'object') for (const item of value) url.searchParams.append(key, item);
      else if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return this.policy.run((signal) => this.fetchJson<T>(url, signal, options.absentOn404 === true), true);
  }

  private async fetchJson<T>(url: URL, signal: AbortSignal, absentOn404: boolean): Promise<T | null> {
    const upstream = this.options.upstream;
    let response: Response;
    try {
      response = await fetch(url, { signal, headers: { accept: 'application/json' } });
    } catch (err) {
      if (signal.aborted) throw err; // the policy's timeout: it reports it
      throw new UpstreamFailure(ErrorCode.UPSTREAM_UNAVAILABLE, `${upstream} is unreachable: ${causeOf(err)}`, true, upstream, err);
    }
    if (response.status === 404 && absentOn404) {
      await response.body?.cancel();
      return null;
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      if (signal.aborted) throw err;
      throw new UpstreamFailure(
        ErrorCode.UPSTREAM_UNAVAILABLE,
        `${upstream} dropped the connection mid-answer: ${causeOf(err)}`,
        true,
        upstream,
        err,
      );
    }
    if (response.status === 429) {
      throw new UpstreamFailure(ErrorCode.UPSTREAM_OVERLOADED, `${upstream} asked us to slow down (429)`, false, upstream);
    }
    if (response.status >= 500) {
      const retryable = response.status === 502 || response.status === 503 || response.status === 504;
      throw new UpstreamFailure(ErrorCode.UPSTREAM_UNAVAILABLE, `${upstream} answered ${response.status}`, retryable, upstream);
    }
    if (!response.ok) {
      // A 4xx (a 404 the contract does not declare: no such route) means this client broke the
      // contract: not the caller's fault, and not retryable.
      this.options.log?.warn(
        { upstream, status: response.status, path: url.pathname, body: text.slice(0, 200) },
        'backend refused a request this client sent: the client and the backend disagree on the contract',
      );
      throw new UpstreamFailure(
        ErrorCode.UPSTREAM_BAD_RESPONSE,
        `${upstream} refused the request (HTTP ${response.status})`,
        false,
        upstream,
      );
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new UpstreamFailure(ErrorCode.UPSTREAM_BAD_RESPONSE, `${upstream} answered malformed JSON`, false, upstream, err);
    }
  }
}
