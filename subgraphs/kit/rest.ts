/**
 * A JSON-over-HTTP client for backend REST services, every call under a `CallPolicy`.
 * GET requests are idempotent and so may be retried; a 404 answers `null` so callers can map
 * "no such resource" to a null field.
 */
import { ErrorCode, causeOf } from '../../lib/errors.ts';
import { createCallPolicy, UpstreamFailure, type CallPolicy, type ResilienceOptions } from './resilience.ts';

export interface RestClientOptions extends ResilienceOptions {
  /** Base URL of the service, e.g. http://127.0.0.1:4201 */
  baseUrl: string;
}

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
   * resolves the parsed JSON body, or null on 404.
   */
  getJson<T>(path: string, query: Record<string, string | number | readonly string[] | undefined> = {}): Promise<T | null> {
    const url = new URL(path, this.baseUrl);
    for (const [key, value] of Object.entries(query)) {
      if (typeof value === 'object') for (const item of value) url.searchParams.append(key, item);
      else if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return this.policy.run((signal) => this.fetchJson<T>(url, signal), true);
  }

  private async fetchJson<T>(url: URL, signal: AbortSignal): Promise<T | null> {
    const upstream = this.options.upstream;
    let response: Response;
    try {
      response = await fetch(url, { signal, headers: { accept: 'application/json' } });
    } catch (err) {
      if (signal.aborted) throw err; // the policy's timeout: it reports it
      throw new UpstreamFailure(ErrorCode.UPSTREAM_UNAVAILABLE, `${upstream} is unreachable: ${causeOf(err)}`, true, upstream, err);
    }
    if (response.status === 404) {
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
      // A 4xx means this client broke the contract: not the caller's fault, and not retryable.
      throw new UpstreamFailure(
        ErrorCode.UPSTREAM_BAD_RESPONSE,
        `${upstream} answered ${response.status}: ${text.slice(0, 200)}`,
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
