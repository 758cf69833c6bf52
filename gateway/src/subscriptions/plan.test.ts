/** The subscription plan cache is bounded by the memory its plans are estimated to take, not by their count. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'graphql';
import { repoRoot } from '../../../lib/supervisor.ts';
import { withEnforcedSecurityFeatures } from '../authorization/policy.ts';
import { FederatedSchema } from '../executor/federated-schema.ts';
import { SubscriptionPlanner } from './plan.ts';

// As the gateway reads it (gateway.ts): the security features it enforces itself are loaded as plain ones.
const supergraphSdl = withEnforcedSecurityFeatures(readFileSync(join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8'));
const plan = (planner: SubscriptionPlanner, query: string) => planner.plan(parse(query), undefined, query);

test('keeps plans while they fit in the bytes allowed, and lets the least recently used go first', { timeout: 30_000 }, () => {
  const small = 'subscription { orderEvents { cursor } }';
  const large = `subscription { orderEvents { ${Array.from({ length: 200 }, (_, i) => `a${i}: cursor`).join(' ')} } }`;
  const roomy = new SubscriptionPlanner(new FederatedSchema(supergraphSdl), 10_000_000);
  assert.equal(plan(roomy, small), plan(roomy, small), 'a cached plan is reused');
  // Room for the small plan, not for the small and the large one together.
  const tight = new SubscriptionPlanner(new FederatedSchema(supergraphSdl), 400_000);
  const first = plan(tight, small);
  assert.equal(plan(tight, small), first);
  plan(tight, large);
  plan(tight, large.replace('a0:', 'b0:'));
  assert.notEqual(plan(tight, small), first, 'the small plan was evicted to make room');
});
