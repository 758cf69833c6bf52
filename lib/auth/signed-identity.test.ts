import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { ANONYMOUS, type Principal } from './principal.ts';
import { signIdentity, verifyIdentity } from './signed-identity.ts';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const NOW = 1_800_000_000_000;
const MAX_AGE = 60_000;
const alice: Principal = { subject: 'alice', customerId: 'c1', scopes: ['orders:write', 'support'] };

describe('the signed identity header', { timeout: 10_000 }, () => {
  test('a fresh signature gives back the principal it was made for', () => {
    assert.deepEqual(verifyIdentity(signIdentity(alice, SECRET, NOW), SECRET, NOW + 1_000, MAX_AGE), { ok: true, principal: alice });
    assert.deepEqual(verifyIdentity(signIdentity(ANONYMOUS, SECRET, NOW), SECRET, NOW, MAX_AGE), { ok: true, principal: ANONYMOUS });
  });

  test('changed claims, timestamp or signature are refused', () => {
    const [version, timestamp, claims, signature] = signIdentity(alice, SECRET, NOW).split('.') as [string, string, string, string];
    const admin = Buffer.from(JSON.stringify({ sub: 'alice', cid: 'c1', scp: ['admin'] })).toString('base64url');
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    for (const value of [
      [version, timestamp, admin, signature],
      [version, String(NOW + 30_000), claims, signature],
      [version, timestamp, claims, flipped],
      [version, timestamp, claims, signature.slice(0, -2)],
    ]) {
      assert.deepEqual(verifyIdentity(value.join('.'), SECRET, NOW, MAX_AGE), { ok: false, reason: 'bad signature' }, value.join('.'));
    }
  });

  test('a signature made with another secret is refused', () => {
    const value = signIdentity(alice, 'another-secret-of-thirty-two-characters!', NOW);
    assert.deepEqual(verifyIdentity(value, SECRET, NOW, MAX_AGE), { ok: false, reason: 'bad signature' });
  });

  test('a signature older than the maximum age is refused, one from too far ahead too', () => {
    const value = signIdentity(alice, SECRET, NOW);
    assert.equal(verifyIdentity(value, SECRET, NOW + MAX_AGE, MAX_AGE).ok, true);
    assert.deepEqual(verifyIdentity(value, SECRET, NOW + MAX_AGE + 1, MAX_AGE), { ok: false, reason: 'expired' });
    assert.deepEqual(verifyIdentity(value, SECRET, NOW - MAX_AGE - 1, MAX_AGE), { ok: false, reason: 'from the future' });
  });

  test('no header, or one that is not of this format, is refused', () => {
    assert.deepEqual(verifyIdentity(undefined, SECRET, NOW, MAX_AGE), { ok: false, reason: 'missing' });
    for (const value of ['Bearer x', 'v1.1.2', 'v2.1.e30.AAAA', 'v1.soon.e30.AAAA', 'v1.1.e30.AAAA.x']) {
      assert.deepEqual(verifyIdentity(value, SECRET, NOW, MAX_AGE), { ok: false, reason: 'malformed' }, value);
    }
  });

  test('correctly signed claims of the wrong shape are refused, not trusted', () => {
    // Signed with the right secret: only the shape is wrong.
    const forge = (claims: unknown) => {
      const signed = `v1.${NOW}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      return `${signed}.${createHmac('sha256', SECRET).update(signed).digest('base64url')}`;
    };
    assert.equal(verifyIdentity(forge({ sub: 'a', cid: null, scp: [] }), SECRET, NOW, MAX_AGE).ok, true, 'the forger itself works');
    for (const claims of [{ sub: 1, cid: null, scp: [] }, { sub: null, cid: null, scp: 'admin' }, null]) {
      assert.deepEqual(verifyIdentity(forge(claims), SECRET, NOW, MAX_AGE), { ok: false, reason: 'malformed' }, JSON.stringify(claims));
    }
  });
});
