/**
 * The resumable-stream protocol between subgraphs and the gateway (schema/resumable.md): the
 * directive that declares a resumable subscription field, what the gateway sends in the subscribe
 * message's extensions, and what every `next` of such a stream carries in its extensions.
 */

/** The directive's spec URL and name, as a subgraph imports it with `@link`. */
export const RESUMABLE_SPEC_URL = 'https://interchange.dev/resumable/v1.0';
export const RESUMABLE_DIRECTIVE = 'resumable';

/** The key in the subscribe message's extensions (gateway to subgraph) and in `next` extensions (subgraph to gateway). */
export const RESUMABLE_EXTENSION = 'resumable';

/** The key of the stream status in results sent to clients. */
export const STREAM_EXTENSION = 'stream';

/** Gateway to subgraph: where a stream starts, and where a bounded replay ends. */
export interface ResumeRequest {
  /** Start after this position; null starts live. */
  after: string | null;
  /** End once every event below this position has been read (a bounded replay). */
  until?: string | undefined;
}

/** How far a stream's source is behind its log. */
export interface StreamLag {
  /** Records of the log not read yet; null when unknown. */
  events: number | null;
  /** The log has not answered recently: the stream may be further behind than it knows. */
  stale: boolean;
}

/** Subgraph to gateway: carried by every `next` of a resumable stream. */
export interface StreamPosition {
  /** The stream's position right after this message. */
  position: string;
  /** A checkpoint (no event): the position moved, or a heartbeat. */
  checkpoint?: true | undefined;
  lag?: StreamLag | undefined;
}

export type StreamStatusReason = 'RECONNECTING' | 'PROJECTION_BEHIND' | 'EVENT_LOG_UNREACHABLE';

/** Gateway to client: `extensions.stream` of a result. */
export interface StreamStatus {
  lagging: boolean;
  reason?: StreamStatusReason | undefined;
  behindEvents?: number | undefined;
  /** The client's exact resume point as of this result, when known. */
  position?: string | undefined;
}

/** Close codes of an upstream socket that say the request is wrong: retrying cannot help. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([4400, 4403, 4409, 4429, 4500]);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads `extensions.resumable` of a subscribe message: undefined when absent, the request when
 * well formed, an error message when malformed.
 */
export function readResumeRequest(extensions: Readonly<Record<string, unknown>>): ResumeRequest | string | undefined {
  const value = extensions[RESUMABLE_EXTENSION];
  if (value === undefined) return undefined;
  if (!isRecord(value)) return '`extensions.resumable` must be an object';
  const { after, until } = value;
  if (after !== null && typeof after !== 'string') return '`extensions.resumable.after` must be a position (string) or null';
  if (until !== undefined && typeof until !== 'string') return '`extensions.resumable.until` must be a position (string)';
  return { after, until };
}

/** Reads `extensions.resumable` of a `next` payload; undefined when it carries none. */
export function readStreamPosition(result: { extensions?: Readonly<Record<string, unknown>> | undefined }): StreamPosition | undefined {
  const value = result.extensions?.[RESUMABLE_EXTENSION];
  if (!isRecord(value) || typeof value['position'] !== 'string') return undefined;
  const lag = isRecord(value['lag']) ? value['lag'] : undefined;
  return {
    position: value['position'],
    checkpoint: value['checkpoint'] === true ? true : undefined,
    lag: lag ? { events: typeof lag['events'] === 'number' ? lag['events'] : null, stale: lag['stale'] === true } : undefined,
  };
}
