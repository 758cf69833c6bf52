/**
 * Serving resumable subscription fields (schema/resumable.md), for any subgraph.
 *
 * A resumable field's subscribe resolver:
 * - learns where to start from `resumeRequest` (the subscribe message's `extensions.resumable`
 *   when present, else the field's resume argument; BAD_REQUEST when the extension is malformed);
 * - returns a stream whose items are `resumableEvent`s (a value to resolve, and the stream's
 *   position right after it) and `resumableCheckpoint`s (the position moved without an event, or
 *   a heartbeat).
 *
 * `subscribeResumable` (graphql-ws's `subscribe`) executes each event as graphql's own `subscribe`
 * does (the field's `resolve` gets the value) and adds `extensions.resumable`; a checkpoint becomes
 * a result with only `extensions.resumable` (`checkpoint: true`). Any other item is executed as
 * graphql would, so fields that are not resumable are served exactly as before.
 */
import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';
import { RESUMABLE_EXTENSION, readResumeRequest, type ResumeRequest, type StreamLag, type StreamPosition } from '../../lib/resumable.ts';

const KIND = Symbol('resumable stream item');

/** An event of a resumable stream: `value` is what the field's `resolve` gets. */
export interface ResumableEvent<T> {
  readonly [KIND]: 'event';
  readonly value: T;
  /** The stream's position right after this event. */
  readonly position: string;
  readonly lag?: StreamLag | undefined;
}

/** The stream's position moved without an event (or has not moved for a while: a heartbeat). */
export interface ResumableCheckpoint {
  readonly [KIND]: 'checkpoint';
  readonly position: string;
  readonly lag?: StreamLag | undefined;
}

export type ResumableItem<T> = ResumableEvent<T> | ResumableCheckpoint;

export function resumableEvent<T>(value: T, position: string, lag?: StreamLag): ResumableEvent<T> {
  return { [KIND]: 'event', value, position, lag };
}

export function resumableCheckpoint(position: string, lag?: StreamLag): ResumableCheckpoint {
  return { [KIND]: 'checkpoint', position, lag };
}

export function isResumableItem(item: unknown): item is ResumableItem<unknown> {
  return typeof item === 'object' && item !== null && KIND in item;
}

/** Where a resumable subscription starts, and whether the subscriber speaks the protocol. */
export interface ResumeFrom extends ResumeRequest {
  /**
   * The request carried `extensions.resumable`: the subscriber reads checkpoints. A plain client
   * (resuming with the argument, or not at all) gets events only.
   */
  viaExtension: boolean;
}

/**
 * Where a resumable subscription starts: `extensions.resumable` of the subscribe message when it
 * has one (it wins over the argument), else the resume argument's value (absent or null: live).
 * Throws BAD_REQUEST when `extensions.resumable` is malformed. Positions are not read here: the
 * stream refuses the ones it cannot read (INVALID_CURSOR) or no longer has (CURSOR_EXPIRED).
 */
export function resumeRequest(extensions: Readonly<Record<string, unknown>>, argumentValue: string | null | undefined): ResumeFrom {
  const request = readResumeRequest(extensions);
  if (typeof request === 'string') throw new InterchangeError(ErrorCode.BAD_REQUEST, request);
  if (request) return { after: request.after, until: request.until, viaExtension: true };
  return { after: argumentValue ?? null, viaExtension: false };
}

/**
 * graphql's `subscribe`, for resumable streams too: resolves the subscription field's source
 * stream, then maps each item to a result (see the module comment). Errors raised before the
 * stream exists come back as an ExecutionResult, as graphql's do. Returning the mapped stream
 * returns the source at once (also while a `next` is pending).
 */
export async function subscribeResumable(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source;
  const iterator = source[Symbol.asyncIterator]();
  const toResult = async (item: unknown): Promise<ExecutionResult> => {
    if (!isResumableItem(item)) return execute({ ...args, rootValue: item });
    const resumable: StreamPosition = { position: item.position };
    if (item[KIND] === 'checkpoint') resumable.checkpoint = true;
    if (item.lag) resumable.lag = item.lag;
    const result = item[KIND] === 'event' ? await execute({ ...args, rootValue: item.value }) : {};
    return { ...result, extensions: { ...result.extensions, [RESUMABLE_EXTENSION]: resumable } };
  };
  const stream: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      const next = await iterator.next();
      return next.done ? { done: true, value: undefined } : { done: false, value: await toResult(next.value) };
    },
    return: async () => {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    throw: async (err: unknown) => {
      await iterator.return?.();
      throw err;
    },
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
