import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { temporaryDataDir } from '../test/support/data-dir.ts';
import { DEV_AUDIENCE, DEV_ISSUER, devAuth, parseLifetime } from './dev-auth.ts';

test('the development key set is created once, secret files private, and reused', { timeout: 20_000 }, async (t) => {
  const dataDir = await temporaryDataDir(t);
  const first = await devAuth(dataDir);
  const auth = join(dataDir, 'auth');
  for (const file of ['signing-key.jwk.json', 'identity-secret']) {
    assert.equal((await stat(join(auth, file))).mode & 0o777, 0o600, file);
  }
  assert.ok(first.identitySecret.length >= 32);
  const again = await devAuth(dataDir);
  assert.equal(again.identitySecret, first.identitySecret);
  assert.equal(again.jwksFile, first.jwksFile);

  // A token made by a later start verifies with the JWKS of the first.
  const jwks = JSON.parse(await readFile(first.jwksFile, 'utf8')) as JSONWebKeySet;
  assert.equal(JSON.stringify(jwks).includes('"d"'), false, 'the JWKS holds no private key');
  const token = await again.token({ customer: 'c3', scopes: ['orders:write', 'support'], expiresInSeconds: 60 });
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: DEV_ISSUER, audience: DEV_AUDIENCE });
  assert.equal(payload.sub, 'c3');
  assert.equal(payload['customer_id'], 'c3');
  assert.equal(payload['scope'], 'orders:write support');
  assert.ok(payload.exp! - payload.iat! === 60);
});

test('a key set left incomplete (a start killed half-way) is made again', { timeout: 20_000 }, async (t) => {
  const dataDir = await temporaryDataDir(t);
  const first = await devAuth(dataDir);
  await rm(first.jwksFile);
  const second = await devAuth(dataDir);
  assert.notEqual(second.identitySecret, first.identitySecret);
  await stat(second.jwksFile);
});

test('token lifetimes read as seconds or with a unit', { timeout: 5_000 }, () => {
  assert.equal(parseLifetime('3600'), 3_600);
  assert.equal(parseLifetime('30m'), 1_800);
  assert.equal(parseLifetime('1h'), 3_600);
  assert.equal(parseLifetime('7d'), 604_800);
  for (const bad of ['', '0', '1w', '-5', 'soon', '1.5h']) assert.equal(parseLifetime(bad), undefined, bad);
});
