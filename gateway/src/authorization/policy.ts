/**
 * What the supergraph requires of a caller, read from federation's security directives:
 * `@authenticated` (any verified token) and `@requiresScopes(scopes: [[...]])` (an OR of ANDs of
 * scopes). A composed supergraph links them as features (`@link(url:
 * "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)`) under whatever name the link's
 * `as` or `import` gives them, so the names are looked up through the link, not assumed.
 *
 * The requirements of a field are its own and those of the type it returns; a field whose return
 * type is abstract also carries those of every possible object type (an object of a protected type
 * must not come back through an interface), and a field selected on an interface carries those of
 * the same field on every implementation. Both over-approximate on purpose: denying too much is
 * visible and fixable in the SDL, answering too much is a leak.
 */
import { Supergraph, baseType, possibleRuntimeTypes, isCompositeType, type NamedType, type Schema } from '@apollo/federation-internals';
import { Kind, parse, print, visit, type DirectiveNode } from 'graphql';
import { hasScope, type Principal } from '../../../lib/auth/principal.ts';

/** One directive application: a token, or one of several sets of scopes (all of a set). */
export type Condition = { readonly kind: 'authenticated' } | { readonly kind: 'scopes'; readonly anyOf: readonly (readonly string[])[] };

/** Every condition must hold. An empty list never appears: a field without requirements has none. */
export type Requirements = readonly Condition[];

export interface AuthorizationPolicy {
  /** The requirements to select `field` on `type` (an object or interface), if any. */
  field(type: string, field: string): Requirements | undefined;
  /** True when the supergraph uses neither directive: nothing to filter. */
  readonly empty: boolean;
  /** The same for two policies exactly when they ask the same of every field (a reload compares them). */
  readonly fingerprint: string;
}

const AUTHENTICATED = 'https://specs.apollo.dev/authenticated';
const REQUIRES_SCOPES = 'https://specs.apollo.dev/requiresScopes';

/**
 * The supergraph as the federation engine is to load it. `@apollo/gateway` refuses a supergraph
 * that links a `for: SECURITY` feature, because it enforces none of them itself (it fails closed).
 * This gateway enforces these two, around the engine (`enforce.ts`), so their links lose the
 * purpose and the engine loads them as plain features; any other security feature (`@policy`)
 * keeps it and is still refused. Only for a gateway that wraps its engine with `enforce.ts`.
 */
export function withEnforcedSecurityFeatures(supergraphSdl: string): string {
  if (!supergraphSdl.includes(AUTHENTICATED) && !supergraphSdl.includes(REQUIRES_SCOPES)) return supergraphSdl;
  const enforced = (directive: DirectiveNode) =>
    directive.arguments?.some(
      (a) =>
        a.name.value === 'url' &&
        a.value.kind === Kind.STRING &&
        [AUTHENTICATED, REQUIRES_SCOPES].some((u) => (a.value as { value: string }).value.startsWith(`${u}/`)),
    );
  return print(
    visit(parse(supergraphSdl), {
      Directive: (directive) =>
        directive.name.value === 'link' && enforced(directive)
          ? { ...directive, arguments: directive.arguments?.filter((a) => a.name.value !== 'for') }
          : undefined,
    }),
  );
}

/** Reads the policy of a composed supergraph (the file the gateway serves). */
export function readAuthorizationPolicy(supergraphSdl: string): AuthorizationPolicy {
  return policyOf(Supergraph.build(withEnforcedSecurityFeatures(supergraphSdl)).schema);
}

function policyOf(schema: Schema): AuthorizationPolicy {
  const features = schema.coreFeatures;
  const authenticated = features?.getByIdentity(AUTHENTICATED)?.directiveNameInSchema('authenticated');
  const requiresScopes = features?.getByIdentity(REQUIRES_SCOPES)?.directiveNameInSchema('requiresScopes');
  const own = (element: { appliedDirectivesOf(name: string): readonly { arguments(): Record<string, unknown> }[] }): Condition[] => [
    ...(authenticated && element.appliedDirectivesOf(authenticated).length > 0 ? [{ kind: 'authenticated' } as const] : []),
    ...(requiresScopes ? element.appliedDirectivesOf(requiresScopes) : []).map(
      (d) => ({ kind: 'scopes', anyOf: d.arguments()['scopes'] as string[][] }) as const,
    ),
  ];

  const types = new Map<string, Condition[]>();
  for (const type of schema.types()) {
    const conditions = own(type);
    if (conditions.length > 0) types.set(type.name, conditions);
  }
  const ofReturnType = (type: NamedType): Condition[] => {
    const runtime = isCompositeType(type) ? possibleRuntimeTypes(type) : [];
    return [...(types.get(type.name) ?? []), ...runtime.flatMap((t) => types.get(t.name) ?? [])];
  };

  const fields = new Map<string, Condition[]>();
  for (const type of schema.types()) {
    if (type.kind !== 'ObjectType' && type.kind !== 'InterfaceType') continue;
    const implementations = type.kind === 'InterfaceType' ? type.possibleRuntimeTypes() : [];
    for (const field of type.fields()) {
      const conditions = [
        ...own(field),
        ...ofReturnType(baseType(field.type!)),
        ...implementations.flatMap((t) => {
          const implementation = t.field(field.name);
          return implementation ? own(implementation) : [];
        }),
      ];
      if (conditions.length > 0) fields.set(`${type.name}.${field.name}`, dedupe(conditions));
    }
  }
  return {
    field: (type, field) => fields.get(`${type}.${field}`),
    empty: fields.size === 0 && types.size === 0,
    fingerprint: JSON.stringify([...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}

function dedupe(conditions: Condition[]): Condition[] {
  const seen = new Set<string>();
  return conditions.filter((c) => {
    const key = JSON.stringify(c);
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/**
 * What the principal lacks to meet the requirements, in words for an error message (`a token`,
 * `scope "support"`, `scopes "a" and "b"`, `one of scope "support" or scopes "a" and "b"`), or null
 * when they are met. A scope condition is not met by an anonymous caller either: it has no scopes.
 */
export function unmet(requirements: Requirements, principal: Principal): string | null {
  const missing: string[] = [];
  for (const condition of requirements) {
    if (condition.kind === 'authenticated') {
      if (principal.subject === null) missing.push('a token');
    } else if (!condition.anyOf.some((all) => all.every((scope) => hasScope(principal, scope)))) {
      const sets = condition.anyOf.map(
        (all) => `${all.length === 1 ? 'scope' : 'scopes'} ${all.map((s) => JSON.stringify(s)).join(' and ')}`,
      );
      missing.push(sets.length === 1 ? sets[0]! : `one of ${sets.join(' or ')}`);
    }
  }
  return missing.length > 0 ? missing.join(', and ') : null;
}
