import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../lib/config.ts';
import { readGatewayConfig } from '../config.ts';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';

const problems = (env: Record<string, string>): string[] => {
  try {
    readGatewayConfig(env, []);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return [];
};

describe('the gateway identity settings', { timeout: 10_000 }, () => {
  test('IDENTITY_SECRET is required and must be long enough', () => {
    assert.match(problems({}).join('\n'), /^IDENTITY_SECRET: required/m);
    assert.match(problems({ IDENTITY_SECRET: 'short' }).join('\n'), /IDENTITY_SECRET: must be at least 32 characters/);
    assert.deepEqual(problems({ IDENTITY_SECRET: SECRET }), []);
  });

  test('keys without an issuer and an audience are refused, and so are two sources of keys', () => {
    assert.deepEqual(
      problems({ IDENTITY_SECRET: SECRET, JWKS_FILE: 'jwks.json' }).map((p) => p.split(':')[0]),
      ['JWT_ISSUER', 'JWT_AUDIENCE'],
    );
    const both = {
      IDENTITY_SECRET: SECRET,
      JWKS_FILE: 'jwks.json',
      JWKS_URL: 'https://idp.example/jwks',
      JWT_ISSUER: 'i',
      JWT_AUDIENCE: 'a',
    };
    assert.match(problems(both).join('\n'), /JWKS_URL, JWKS_FILE: set one of them/);
  });

  test('nothing is forwarded by default, and the signed identity header can never be', () => {
    assert.deepEqual(readGatewayConfig({ IDENTITY_SECRET: SECRET }, []).FORWARD_HEADERS, []);
    assert.match(
      problems({ IDENTITY_SECRET: SECRET, FORWARD_HEADERS: 'x-tenant,Interchange-Identity' }).join('\n'),
      /FORWARD_HEADERS: may not name/,
    );
  });
});
