/**
 * Cursors (positions) of the order event subscription. A cursor is a position in the whole topic,
 * not in this process's order of application: a vector of next offsets, one per partition. Every
 * event with an offset below its partition's entry is covered. A vector means the same after a
 * restart, when the projection is rebuilt and partitions interleave differently; a stream keeps its
 * position monotone by taking pointwise maxima (`maxVector`), see stream.ts.
 *
 * Wire form: base64url (no padding) of `v1:<offset of partition 0>,<offset of partition 1>,...`
 * in decimal. Clients treat it as opaque; the version prefix lets the form change compatibly.
 */
import { ErrorCode, InterchangeError } from '../../../lib/errors.ts';

const VERSION = 'v1';
/** Longest cursor accepted, in characters: far above any real topic's, far below abuse. */
const MAX_CURSOR_LENGTH = 4_096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const VECTOR = /^v1:(0|[1-9]\d{0,15})(,(0|[1-9]\d{0,15}))*$/;

/** Partition -> next offset (index = partition). */
export type PositionVector = readonly number[];

export function encodeCursor(positions: PositionVector): string {
  return Buffer.from(`${VERSION}:${positions.join(',')}`, 'utf8').toString('base64url');
}

/** Decodes a cursor; throws INVALID_CURSOR (naming `argument`) when it is not one this API issued. */
export function decodeCursor(cursor: string, argument = 'after'): number[] {
  const invalid = (why: string) =>
    new InterchangeError(ErrorCode.INVALID_CURSOR, `\`${argument}\` is not a valid cursor: ${why}`, { argument });
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw invalid('not a cursor');
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Node's decoder skips what it cannot read; only the canonical form of a valid text is a cursor.
  if (Buffer.from(text, 'utf8').toString('base64url') !== cursor || !VECTOR.test(text)) throw invalid('not a cursor');
  const positions = text
    .slice(VERSION.length + 1)
    .split(',')
    .map(Number);
  if (!positions.every(Number.isSafeInteger)) throw invalid('an offset is out of range');
  return positions;
}

/** Pointwise maximum; a missing entry counts as 0, so the result is as long as the longer input. */
export function maxVector(a: PositionVector, b: PositionVector): number[] {
  return Array.from({ length: Math.max(a.length, b.length) }, (_, partition) => Math.max(a[partition] ?? 0, b[partition] ?? 0));
}

/** Pointwise minimum of `vector` and `bound`, as long as `vector`; a missing entry of `bound` counts as 0. */
export function minVector(vector: PositionVector, bound: PositionVector): number[] {
  return vector.map((offset, partition) => Math.min(offset, bound[partition] ?? 0));
}

/**
 * `vector` without its trailing zero entries beyond the first `length`: the same position (a
 * missing entry counts as 0) in the shortest form that still names `length` partitions.
 */
export function trimmed(vector: PositionVector, length: number): number[] {
  let end = vector.length;
  while (end > length && vector[end - 1] === 0) end--;
  return vector.slice(0, end);
}

/** Whether `vector` has reached `target` on every partition (a missing entry counts as 0). */
export function reached(vector: PositionVector, target: PositionVector): boolean {
  return target.every((offset, partition) => (vector[partition] ?? 0) >= offset);
}
