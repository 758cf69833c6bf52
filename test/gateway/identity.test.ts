/** Which caller headers the gateway forwards to subgraphs (identityFrom), and the values it refuses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';
import { identityFrom, identityOrRefusal } from '../../gateway/src/identity.ts';

const forward = ['authorization', 'x-tenant'];

test('takes the forwarded headers from HTTP headers and ignores the others', { timeout: 5_000 }, () => {
  assert.deepEqual(identityFrom({ authorization: 'Bearer abc', 'x-tenant': 't1', cookie: 'c' }, forward), {
    authorization: 'Bearer abc',
    'x-tenant': 't1',
  });
});

test('takes them from a connection_init payload, nested under headers or at its top level, whatever their case', { timeout: 5_000 }, () => {
  assert.deepEqual(identityFrom({ headers: { Authorization: 'Bearer abc' } }, forward), { authorization: 'Bearer abc' });
  assert.deepEqual(identityFrom({ 'X-Tenant': 't2' }, forward), { 'x-tenant': 't2' });
  assert.deepEqual(identityFrom(undefined, forward), {});
});

test('lets visible ASCII, spaces and tabs through', { timeout: 5_000 }, () => {
  const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
  const value = `Bearer\t${printable}`;
  assert.deepEqual(identityFrom({ authorization: value }, forward), { authorization: value });
});

for (const [what, value, position] of [
  ['a non-ASCII character (a pasted ellipsis)', 'Bearer \u2026', 'character 8 is U+2026'],
  ['a Latin-1 byte, as Node reads raw UTF-8 off the wire', 'Bearer caf\u00e9', 'character 11 is U+00E9'],
  ['a line break', 'Bearer a\r\nx-injected: 1', 'character 9 is U+000D'],
  ['a control character', 'Bearer \u0000', 'character 8 is U+0000'],
] as const) {
  test(`refuses a forwarded value with ${what} as BAD_REQUEST naming the header, not the value`, { timeout: 5_000 }, () => {
    assert.throws(
      () => identityFrom({ headers: { authorization: value } }, forward),
      (err: unknown) => {
        assert.ok(err instanceof InterchangeError);
        assert.equal(err.code, ErrorCode.BAD_REQUEST);
        assert.equal(
          err.message,
          `header "authorization" has a value that cannot be sent over HTTP: ${position} (only visible ASCII, space and tab are allowed)`,
        );
        assert.deepEqual(err.extensions, { header: 'authorization', code: 'BAD_REQUEST' });
        return true;
      },
    );
  });
}

test('does not look at the values of headers it does not forward', { timeout: 5_000 }, () => {
  assert.deepEqual(identityFrom({ authorization: 'Bearer abc', 'user-agent': 'caf\u00e9' }, forward), { authorization: 'Bearer abc' });
});

test('identityOrRefusal returns the refusal instead of throwing it', { timeout: 5_000 }, () => {
  const refusal = identityOrRefusal({ 'x-tenant': 't\u00e9' }, forward);
  assert.ok(refusal instanceof InterchangeError);
  assert.equal(refusal.extensions['header'], 'x-tenant');
  assert.deepEqual(identityOrRefusal({ 'x-tenant': 't1' }, forward), { 'x-tenant': 't1' });
});
