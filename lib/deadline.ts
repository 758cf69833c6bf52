/**
 * Deadlines from the gateway to subgraphs. The gateway sends every subgraph request with the time
 * it will still wait for the answer, in the `interchange-timeout-ms` header (whole milliseconds);
 * a subgraph answers within it (minus a margin for the answer's way back) or not at all, so the
 * gateway never gives up on work that then completes behind its back.
 */

/** Request header: how long the caller waits for the answer, in whole ms, counted from when it sent it. */
export const TIMEOUT_HEADER = 'interchange-timeout-ms';

/** Kept back from a caller's budget for the answer's way back to it, in ms. */
export const ANSWER_MARGIN_MS = 200;

/** A point in time by which work must be done. */
export class Deadline {
  /** When the time is up, in ms since the epoch. */
  readonly at: number;
  readonly #now: () => number;

  constructor(at: number, now: () => number = Date.now) {
    this.at = at;
    this.#now = now;
  }

  /** A deadline `ms` from now. */
  static after(ms: number, now: () => number = Date.now): Deadline {
    return new Deadline(now() + ms, now);
  }

  /** Time left, in ms (0 once the deadline has passed). */
  remaining(): number {
    return Math.max(0, this.at - this.#now());
  }
}

/**
 * The deadline of a request that arrived now: what the caller's `interchange-timeout-ms` header
 * leaves after ANSWER_MARGIN_MS, capped at `ownLimitMs` (which also applies when the header is
 * absent or not a whole number of ms).
 */
export function deadlineFrom(headers: Readonly<Record<string, string | undefined>>, ownLimitMs: number, now = Date.now): Deadline {
  const header = headers[TIMEOUT_HEADER]?.trim();
  const callerMs = header !== undefined && /^\d{1,10}$/.test(header) ? Number(header) - ANSWER_MARGIN_MS : Infinity;
  return Deadline.after(Math.max(0, Math.min(callerMs, ownLimitMs)), now);
}
