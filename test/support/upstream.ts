/** Assertions on the errors the subgraph kit's transports raise. */
import assert from 'node:assert/strict';
import type { ErrorCode } from '../../lib/errors.ts';
import { UpstreamFailure } from '../../subgraphs/kit/resilience.ts';

export interface ExpectedFailure {
  code: ErrorCode;
  message: string | RegExp;
  retryable: boolean;
}

/** Asserts that `promise` rejects with an `UpstreamFailure` of exactly this shape, from `upstream`; returns it. */
export async function rejectsWithFailure(promise: Promise<unknown>, upstream: string, expected: ExpectedFailure): Promise<UpstreamFailure> {
  let failure: UpstreamFailure | undefined;
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UpstreamFailure, `expected an UpstreamFailure, got ${String(err)}`);
    assert.equal(err.code, expected.code, err.message);
    assert.deepEqual(err.extensions, { upstream, code: expected.code });
    if (typeof expected.message === 'string') assert.equal(err.message, expected.message);
    else assert.match(err.message, expected.message);
    assert.equal(err.retryable, expected.retryable);
    failure = err;
    return true;
  });
  return failure!;
}
