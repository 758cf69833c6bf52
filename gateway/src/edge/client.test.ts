import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS } from '../../../lib/auth/principal.ts';
import { ConfigError } from '../../../lib/config.ts';
import { readGatewayConfig } from '../config.ts';
import { addressGroup, clientKey, validProxies } from './client.ts';

describe('the client a request counts against', { timeout: 10_000 }, () => {
  test('an IPv6 address counts by its /64, an IPv4-mapped one as IPv4, IPv4 as it is', () => {
    assert.equal(addressGroup('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressGroup('2001:db8:1:2::'), '2001:db8:1:2::/64');
    assert.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(addressGroup('192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey(ANONYMOUS, '2001:db8:1:2::9'), clientKey(ANONYMOUS, '2001:db8:1:2:ffff::1'));
    assert.notEqual(clientKey(ANONYMOUS, '2001:db8:1:2::9'), clientKey(ANONYMOUS, '2001:db8:1:3::9'));
    assert.equal(clientKey({ subject: 'alice', customerId: null, scopes: [] }, '192.0.2.7'), 'sub:alice');
  });

  test('TRUSTED_PROXIES takes addresses, CIDR ranges and proxy-addr names, and nothing else', () => {
    assert.equal(validProxies([]), true);
    assert.equal(validProxies(['10.0.0.1', '10.0.0.0/8', '2001:db8::/32', 'loopback', 'uniquelocal']), true);
    assert.equal(validProxies(['proxy.internal']), false);
    assert.equal(validProxies(['10.0.0.0/33']), false);
    assert.throws(
      () =>
        readGatewayConfig(
          { IDENTITY_SECRET: 'a-secret-of-at-least-thirty-two-characters', TRUSTED_PROXIES: '10.0.0.1, proxy.internal' },
          [],
        ),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('TRUSTED_PROXIES: ')),
    );
  });
});
