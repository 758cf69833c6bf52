import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Scope } from '../../lib/auth/principal.ts';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';
import { ANONYMOUS, customerPrincipal, staffPrincipal } from '../../test/support/authorization.ts';
import { requireOwnerOr, requireScope, requireSubject } from './authorization.ts';

const denied = (check: () => void) =>
  assert.throws(check, (err: unknown) => err instanceof InterchangeError && err.code === ErrorCode.UNAUTHORIZED);

describe('the subgraph authorization checks', () => {
  test('requireOwnerOr lets the customer themself through, and any of the scopes, admin included', () => {
    requireOwnerOr(customerPrincipal('c3'), 'c3', Scope.SUPPORT);
    requireOwnerOr(staffPrincipal([Scope.SUPPORT]), 'c3', Scope.SUPPORT);
    requireOwnerOr(staffPrincipal([Scope.ORDERS_ALL]), 'c3', Scope.SUPPORT, Scope.ORDERS_ALL);
    requireOwnerOr(staffPrincipal([Scope.ADMIN]), 'c3', Scope.SUPPORT);
  });

  test('requireOwnerOr refuses another customer, a token without a customer, and nobody', () => {
    denied(() => requireOwnerOr(customerPrincipal('c4', [Scope.ORDERS_WRITE]), 'c3', Scope.SUPPORT));
    denied(() => requireOwnerOr(staffPrincipal([Scope.ORDERS_ALL]), 'c3', Scope.SUPPORT));
    denied(() => requireOwnerOr(ANONYMOUS, 'c3', Scope.SUPPORT));
  });

  test('a principal without a customer is never the owner, even of a customer id that is empty', () => {
    denied(() => requireOwnerOr(staffPrincipal([]), '', Scope.SUPPORT));
  });

  test('requireScope wants one of the scopes (admin implies all); requireSubject wants a token', () => {
    requireScope(customerPrincipal('c3', [Scope.ORDERS_WRITE]), Scope.ORDERS_WRITE);
    requireScope(staffPrincipal([Scope.ADMIN]), Scope.ORDERS_ALL);
    denied(() => requireScope(customerPrincipal('c3', [Scope.SUPPORT]), Scope.ORDERS_WRITE));
    requireSubject(customerPrincipal('c3'));
    denied(() => requireSubject(ANONYMOUS));
  });

  test("a denial's message names no customer id", () => {
    assert.throws(
      () => requireOwnerOr(customerPrincipal('c4'), 'c3', Scope.SUPPORT),
      (err: Error) => !err.message.includes('c3') && !err.message.includes('c4'),
    );
  });
});
