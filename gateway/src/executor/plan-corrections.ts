/**
 * Corrects the plans `QueryPlanner.buildQueryPlan` (@apollo/query-planner 2.14.4) returns where the
 * planner is known to get them wrong (issue 11; test/differential/supergraphs/defects.ts):
 *
 * - **A required field with arguments.** The planner keys the fields of one fetch by response name
 *   only, so `price(currency: "USD")` required by one field, `price(currency: "EUR")` required by
 *   another and the client's own `price(...)` collapse into one field with whichever arguments came
 *   first. Where that happened (the field the data holds differs from what a `@requires` asks for,
 *   or from what the client asked for), the providing fetch also selects the required field as it
 *   is required, under an alias of its own; the entity fetch reads that alias and renames it back
 *   with an `inputRewrites` `KeyRenamer`; the client's field gets the client's arguments back; and
 *   an entity fetch whose fields need different values of one field is split into fetches that run
 *   in parallel, one per set of values (a representation holds one value per field).
 * - **A key declared `resolvable: false`.** When the only key an entity fetch sends is one the
 *   target subgraph declares `resolvable: false`, the representation gets one of that subgraph's
 *   resolvable keys instead; when no earlier fetch selects that key's fields, the fetch that
 *   selected the unresolvable key's fields (and can resolve the other key) selects them too.
 *
 * Everything is read from the supergraph (`join__field(requires:)`, `join__type(key:, resolvable:)`)
 * and the plan. A plan that needs none of this is returned as it is (the same object); the plan
 * given is never modified. A case a correction cannot handle (a required selection the providing
 * subgraph cannot resolve alone, a fetch whose entities are selected through named fragments) is
 * left as the planner made it.
 *
 * Wiring: call it on every plan the planner builds, before the plan is cached or executed:
 * `correctPlan(planner.buildQueryPlan(operation), supergraph, operation)`, with the same
 * `Supergraph` the planner was built from and the same `Operation` it planned.
 */
import type { Operation, Supergraph } from '@apollo/federation-internals';
import {
  getResponseName,
  type FetchDataRewrite,
  type FetchNode,
  type PlanNode,
  type QueryPlan,
  type QueryPlanInlineFragmentNode,
  type QueryPlanSelectionNode,
  type SubscriptionNode,
} from '@apollo/query-planner';
import {
  Kind,
  parse,
  print,
  stripIgnoredCharacters,
  type DocumentNode,
  type FieldNode,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type VariableDefinitionNode,
} from 'graphql';
import { factsOf, type EntityKey, type SupergraphFacts } from './plan-corrections-facts.ts';
import {
  fieldsAnswering,
  isField,
  planSelectionsCover,
  responseName,
  sameArguments,
  selectionCovers,
  toPlanSelections,
  variablesIn,
} from './plan-corrections-selections.ts';

/** Returns `plan` corrected, or `plan` itself when it needs no correction. */
export function correctPlan(plan: QueryPlan, supergraph: Supergraph, operation: Operation): QueryPlan {
  const facts = factsOf(supergraph);
  if (!facts.relevant || !plan.node) return plan;
  const corrector = new Corrector(facts, operation);
  corrector.walk(plan.node, [], []);
  if (!corrector.changed()) return plan;
  return { ...plan, node: corrector.rebuild(plan.node) };
}

/** A parsed operation's nodes are fresh objects of our own: corrections edit them in place. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };
const writable = <T>(node: T) => node as Writable<T>;

/** One entity fetch's fields that need their own values of required fields (one fetch of the split). */
interface Group {
  type: string;
  fields: Set<FieldNode>;
  /** Aliased required fields: `alias` is renamed to `name` in the representation. */
  renames: { alias: string; name: string; selection: FieldNode }[];
}

/** A fetch of the plan, where its data lands, and what the corrections changed of it. */
class FetchSite {
  private parsed: DocumentNode | undefined;
  requires: QueryPlanSelectionNode[] | undefined;
  changed = false;
  groups: Group[] = [];

  readonly fetch: FetchNode;
  /** The response path the fetch's data is merged at (its Flatten path, `@` for list items). */
  readonly path: readonly string[];

  constructor(fetch: FetchNode, path: readonly string[]) {
    this.fetch = fetch;
    this.path = path;
    this.requires = fetch.requires;
  }

  get document(): DocumentNode {
    this.parsed ??= parse(this.fetch.operation, { noLocation: true });
    return this.parsed;
  }

  get operation(): OperationDefinitionNode {
    return this.document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  }

  /** The `_entities` field of an entity fetch. */
  get entities(): FieldNode | undefined {
    if (!this.fetch.requires) return undefined;
    return this.operation.selectionSet.selections.find((s): s is FieldNode => isField(s) && s.name.value === '_entities');
  }

  /** The selection sets whose data lands at `path`. */
  entrySets(): SelectionSetNode[] {
    if (!this.fetch.requires) return [this.operation.selectionSet];
    const set = this.entities?.selectionSet;
    return set ? [set] : [];
  }
}

/** Where an earlier fetch selects a field the data at a path answers with. */
interface Provider {
  site: FetchSite;
  set: SelectionSetNode;
  field: FieldNode;
  /** The field's path in the client's operation (response names). */
  clientPath: string[];
}

class Corrector {
  private readonly sites = new Map<FetchNode, FetchSite>();
  private readonly aliases = new Map<SelectionSetNode, Map<string, string>>();
  private client: OperationDefinitionNode | undefined;
  private readonly facts: SupergraphFacts;
  private readonly operation: Operation;

  constructor(facts: SupergraphFacts, operation: Operation) {
    this.facts = facts;
    this.operation = operation;
  }

  changed(): boolean {
    return [...this.sites.values()].some((site) => site.changed || site.groups.length > 0);
  }

  /** Visits `node` in execution order; returns the fetches done once it is (`before` included). */
  walk(node: PlanNode | SubscriptionNode, path: readonly string[], before: readonly FetchSite[]): readonly FetchSite[] {
    switch (node.kind) {
      case 'Fetch': {
        const site = new FetchSite(node, path);
        this.sites.set(node, site);
        if (site.requires) {
          this.correctKeys(site, before);
          this.correctRequiredArguments(site, before);
        }
        return [...before, site];
      }
      case 'Flatten':
        return this.walk(node.node, [...path, ...node.path.map(String)], before);
      case 'Sequence':
        return node.nodes.reduce((done, child) => this.walk(child, path, done), before);
      case 'Parallel':
        return this.together(
          node.nodes.map((child) => this.walk(child, path, before)),
          before,
        );
      case 'Condition':
        return this.together(
          [node.ifClause, node.elseClause].map((child) => (child ? this.walk(child, path, before) : before)),
          before,
        );
      case 'Defer': {
        const primary = node.primary.node ? this.walk(node.primary.node, path, before) : before;
        return this.together(
          node.deferred.map((d) => (d.node ? this.walk(d.node, path, primary) : primary)),
          primary,
        );
      }
      case 'Subscription': {
        const primary = this.walk(node.primary, path, before);
        return node.rest ? this.walk(node.rest, path, primary) : primary;
      }
    }
  }

  private together(branches: (readonly FetchSite[])[], before: readonly FetchSite[]): FetchSite[] {
    return [...before, ...branches.flatMap((done) => done.slice(before.length))];
  }

  // ---- resolvable: false keys

  /** Gives the representation a key the target subgraph resolves, when it was sent only unresolvable ones. */
  private correctKeys(site: FetchSite, before: readonly FetchSite[]): void {
    const subgraph = site.fetch.serviceName;
    site.requires = site.requires?.map((selection) => {
      if (selection.kind !== 'InlineFragment' || !selection.typeCondition) return selection;
      const type = selection.typeCondition;
      const keys = this.facts.keys(subgraph, type);
      const sent = keys.filter((key) => planSelectionsCover(selection.selections, key.fields));
      if (sent.length === 0 || sent.some((key) => key.resolvable)) return selection;
      const resolvable = keys.filter((key) => key.resolvable);
      const chosen =
        resolvable.find((key) => this.available(site, before, type, key)) ??
        resolvable.find((key) => this.selectKey(site, before, type, key, sent));
      if (!chosen) return selection;
      site.changed = true;
      return this.withKey(site, selection, sent, chosen);
    });
  }

  /** Whether the data holds `key`'s fields where `site` reads its entities. */
  private available(site: FetchSite, before: readonly FetchSite[], type: string, key: EntityKey): boolean {
    return key.fields.selections.every((f) => {
      if (!isField(f)) return false;
      const provider = this.provider(before, site.path, type, f.name.value);
      return (
        provider !== undefined &&
        !provider.field.arguments?.length &&
        (!f.selectionSet || selectionCovers(provider.field.selectionSet, f.selectionSet))
      );
    });
  }

  /** Has the fetch that selected the sent (unresolvable) key select `key` beside it, if its subgraph resolves it. */
  private selectKey(site: FetchSite, before: readonly FetchSite[], type: string, key: EntityKey, sent: EntityKey[]): boolean {
    const first = sent[0]?.fields.selections.find(isField);
    const provider = first && this.provider(before, site.path, type, first.name.value);
    if (!provider || !this.facts.resolves(provider.site.fetch.serviceName, type, key.fields)) return false;
    const present = new Set(provider.set.selections.filter(isField).map(responseName));
    const missing = key.fields.selections.filter((f) => isField(f) && !present.has(f.name.value));
    writable(provider.set).selections = [...provider.set.selections, ...missing];
    provider.site.changed = true;
    return true;
  }

  /** `selection` with the sent unresolvable keys' fields replaced by `key`'s (fields some @requires needs stay). */
  private withKey(site: FetchSite, selection: QueryPlanInlineFragmentNode, sent: EntityKey[], key: EntityKey): QueryPlanInlineFragmentNode {
    const type = selection.typeCondition!;
    const keep = new Set(key.fields.selections.filter(isField).map((f) => f.name.value));
    for (const field of this.entityFields(site, type)) {
      for (const r of this.facts.requires(site.fetch.serviceName, type, field.name.value)?.selections ?? []) {
        if (isField(r)) keep.add(r.name.value);
      }
    }
    const drop = new Set(sent.flatMap((k) => k.fields.selections.filter(isField).map((f) => f.name.value)).filter((n) => !keep.has(n)));
    const kept = selection.selections.filter((s) => s.kind !== 'Field' || !drop.has(s.name));
    const missing = toPlanSelections(key.fields).filter(
      (s) => !kept.some((k) => k.kind === 'Field' && s.kind === 'Field' && k.name === s.name),
    );
    return { ...selection, selections: [...kept, ...missing] };
  }

  // ---- required fields with arguments

  /** Gives every field of an entity fetch the required values its @requires asks for (see the header). */
  private correctRequiredArguments(site: FetchSite, before: readonly FetchSite[]): void {
    const fragments = site.entities?.selectionSet?.selections ?? [];
    if (!fragments.every((f): f is InlineFragmentNode => f.kind === Kind.INLINE_FRAGMENT && f.typeCondition !== undefined)) return;
    const groups = new Map<string, Group>();
    for (const fragment of fragments) {
      const type = fragment.typeCondition!.name.value;
      for (const field of fragment.selectionSet.selections.filter(isField)) {
        const renames = this.renamesFor(site, before, type, field);
        if (!renames?.length) continue;
        const id = `${type} ${renames.map((r) => r.alias).join(' ')}`;
        const group = groups.get(id) ?? { type, fields: new Set(), renames };
        group.fields.add(field);
        groups.set(id, group);
      }
    }
    site.groups = [...groups.values()];
  }

  /** The aliased required fields `field` must read instead of the planner's, or none. */
  private renamesFor(site: FetchSite, before: readonly FetchSite[], type: string, field: FieldNode): Group['renames'] | undefined {
    const subgraph = site.fetch.serviceName;
    const required = this.facts.requires(subgraph, type, field.name.value);
    if (!required) return undefined;
    const renames: Group['renames'] = [];
    for (const r of required.selections) {
      if (!isField(r) || !this.facts.takesArguments(subgraph, type, { kind: Kind.SELECTION_SET, selections: [r] })) continue;
      const alias = this.aliasFor(site, before, type, r);
      if (alias) renames.push({ alias, name: r.name.value, selection: r });
    }
    return renames;
  }

  /**
   * The alias under which the data holds `required` as required, when the field the planner has
   * the entity fetch read holds something else (other arguments), or the client wants something
   * else there. Adds the aliased field to the providing fetch, and gives the client's field its
   * arguments back.
   */
  private aliasFor(site: FetchSite, before: readonly FetchSite[], type: string, required: FieldNode): string | undefined {
    const planned = this.requiresFragment(site, type)?.selections.find((s) => s.kind === 'Field' && s.name === required.name.value);
    if (!planned || planned.kind !== 'Field') return undefined;
    const provider = this.provider(before, site.path, type, getResponseName(planned));
    if (!provider) return undefined;
    const found = this.clientField(provider.clientPath);
    const client = found?.name.value === provider.field.name.value ? found : undefined;
    if (sameArguments(provider.field, required) && (!client || sameArguments(client, required))) return undefined;
    const providing = provider.site.fetch.serviceName;
    if (!this.facts.resolves(providing, type, { kind: Kind.SELECTION_SET, selections: [required] })) return undefined;

    const text = print(required);
    const known = this.aliases.get(provider.set) ?? new Map<string, string>();
    this.aliases.set(provider.set, known);
    let alias = known.get(text);
    if (!alias) {
      const taken = new Set(provider.set.selections.filter(isField).map(responseName));
      let n = 0;
      while (taken.has(`_required${n}_${required.name.value}`)) n++;
      alias = `_required${n}_${required.name.value}`;
      known.set(text, alias);
      writable(provider.set).selections = [...provider.set.selections, { ...required, alias: { kind: Kind.NAME, value: alias } }];
      provider.site.changed = true;
    }
    if (client && !sameArguments(provider.field, client)) this.restore(provider, client);
    return alias;
  }

  /** Gives the providing fetch's field the client's arguments back (declaring the client's variables they use). */
  private restore(provider: Provider, client: FieldNode): void {
    writable(provider.field).arguments = client.arguments;
    const operation = writable(provider.site.operation);
    const declared = new Set((operation.variableDefinitions ?? []).map((d) => d.variable.name.value));
    const added: VariableDefinitionNode[] = [];
    for (const name of variablesIn(client)) {
      const definition = this.clientOperation().variableDefinitions?.find((d) => d.variable.name.value === name);
      if (definition && !declared.has(name)) added.push(definition);
    }
    if (added.length) operation.variableDefinitions = [...(operation.variableDefinitions ?? []), ...added];
    provider.site.changed = true;
  }

  // ---- finding things

  /** The latest earlier fetch selecting `name` where the data at `path` is (a fetch at `path` or above it), on a `type`. */
  private provider(before: readonly FetchSite[], path: readonly string[], type: string, name: string): Provider | undefined {
    for (let i = before.length - 1; i >= 0; i--) {
      const site = before[i]!;
      if (site.path.length > path.length || site.path.some((element, j) => element !== path[j])) continue;
      const clientPath = site.path.filter((element) => element !== '@');
      let sets = site.entrySets();
      for (const element of path.slice(site.path.length)) {
        if (element === '@') continue;
        clientPath.push(element);
        sets = fieldsAnswering(sets, element).flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
      }
      for (const set of sets.flatMap((s) => this.setsOn(s, type))) {
        const field = set.selections.find((s): s is FieldNode => isField(s) && responseName(s) === name);
        if (field) return { site, set, field, clientPath: [...clientPath, name] };
      }
    }
    return undefined;
  }

  /** `set` and the selection sets of its inline fragments that can apply to a `type`. */
  private setsOn(set: SelectionSetNode, type: string): SelectionSetNode[] {
    return [
      set,
      ...set.selections.flatMap((s) => {
        if (s.kind !== Kind.INLINE_FRAGMENT) return [];
        const condition = s.typeCondition?.name.value;
        const applies = condition === undefined || condition === type || !this.facts.isObjectType(condition);
        return applies ? this.setsOn(s.selectionSet, type) : [];
      }),
    ];
  }

  /** The client's field at `path` (response names), if the client selects one there. */
  private clientField(path: readonly string[]): FieldNode | undefined {
    let sets = [this.clientOperation().selectionSet];
    let found: FieldNode | undefined;
    for (const name of path) {
      const fields = fieldsAnswering(sets, name);
      found = fields[0];
      sets = fields.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
    }
    return found;
  }

  private clientOperation(): OperationDefinitionNode {
    this.client ??= parse(this.operation.toString(true), { noLocation: true }).definitions.find(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    )!;
    return this.client;
  }

  private requiresFragment(site: FetchSite, type: string): QueryPlanInlineFragmentNode | undefined {
    return site.requires?.find((s): s is QueryPlanInlineFragmentNode => s.kind === 'InlineFragment' && s.typeCondition === type);
  }

  /** The fields an entity fetch selects on `type`. */
  private entityFields(site: FetchSite, type: string): FieldNode[] {
    return (site.entities?.selectionSet?.selections ?? []).flatMap((s) =>
      s.kind === Kind.INLINE_FRAGMENT && s.typeCondition?.name.value === type ? s.selectionSet.selections.filter(isField) : [],
    );
  }

  // ---- the corrected plan

  rebuild<N extends PlanNode | SubscriptionNode>(node: N): N;
  rebuild(node: PlanNode | SubscriptionNode): PlanNode | SubscriptionNode {
    switch (node.kind) {
      case 'Fetch':
        return this.corrected(node);
      case 'Flatten': {
        const child = this.rebuild(node.node);
        return child === node.node ? node : { ...node, node: child };
      }
      case 'Sequence':
      case 'Parallel': {
        const nodes = node.nodes.map((child) => this.rebuild(child));
        return nodes.every((child, i) => child === node.nodes[i]) ? node : { ...node, nodes };
      }
      case 'Condition': {
        const ifClause = node.ifClause && this.rebuild(node.ifClause);
        const elseClause = node.elseClause && this.rebuild(node.elseClause);
        return ifClause === node.ifClause && elseClause === node.elseClause ? node : { ...node, ifClause, elseClause };
      }
      case 'Defer': {
        const primary = node.primary.node && this.rebuild(node.primary.node);
        const deferred = node.deferred.map((d) => {
          const child = d.node && this.rebuild(d.node);
          return child === d.node ? d : { ...d, node: child };
        });
        const same = primary === node.primary.node && deferred.every((d, i) => d === node.deferred[i]);
        return same ? node : { ...node, primary: { ...node.primary, node: primary }, deferred };
      }
      case 'Subscription': {
        // A subscription's primary fetch is a root fetch: it is only ever added to, never split.
        const primary = this.corrected(node.primary) as FetchNode;
        const rest = node.rest && this.rebuild(node.rest);
        return primary === node.primary && rest === node.rest ? node : { ...node, primary, rest };
      }
    }
  }

  /** A fetch as corrected: itself, its edited operation, or the fetches it is split into. */
  private corrected(fetch: FetchNode): PlanNode {
    const site = this.sites.get(fetch);
    if (!site || (!site.changed && site.groups.length === 0)) return fetch;
    if (site.groups.length === 0) return withDocument(fetch, site.document, site.requires, fetch.inputRewrites);
    const grouped = new Set(site.groups.flatMap((g) => [...g.fields]));
    const fetches: FetchNode[] = [];
    const rest = entitiesOnly(site, (_type, field) => !grouped.has(field));
    if (rest) fetches.push(withDocument(fetch, rest, site.requires, fetch.inputRewrites));
    for (const group of site.groups) {
      const document = entitiesOnly(site, (type, field) => type === group.type && group.fields.has(field))!;
      const renamed = new Set(group.renames.map((r) => r.name));
      const base = site.requires?.find((s) => s.kind === 'InlineFragment' && s.typeCondition === group.type) as QueryPlanInlineFragmentNode;
      const requires: QueryPlanSelectionNode[] = [
        {
          ...base,
          selections: [
            ...base.selections.filter((s) => s.kind !== 'Field' || !renamed.has(s.name)),
            ...group.renames.map(({ alias, name, selection }) => ({
              kind: 'Field' as const,
              alias,
              name,
              ...(selection.selectionSet && { selections: toPlanSelections(selection.selectionSet) }),
            })),
          ],
        },
      ];
      const rewrites: FetchDataRewrite[] = group.renames.map(({ alias, name }) => ({
        kind: 'KeyRenamer',
        path: [`... on ${group.type}`, alias],
        renameKeyTo: name,
      }));
      const split = withDocument(fetch, document, requires, [...(fetch.inputRewrites ?? []), ...rewrites]);
      // Deferred parts wait for a fetch by its id: the first fetch of the split keeps it.
      fetches.push(fetches.length === 0 ? split : { ...split, id: undefined });
    }
    return fetches.length === 1 ? fetches[0]! : { kind: 'Parallel', nodes: fetches };
  }
}

/** The site's operation with only the `_entities` fields `keep` keeps (undefined when none is left). */
function entitiesOnly(site: FetchSite, keep: (type: string, field: FieldNode) => boolean): DocumentNode | undefined {
  const entities = site.entities!;
  const fragments = entities.selectionSet!.selections.flatMap((fragment): SelectionNode[] => {
    if (fragment.kind !== Kind.INLINE_FRAGMENT) return [];
    const type = fragment.typeCondition!.name.value;
    const selections = fragment.selectionSet.selections.filter((s) => !isField(s) || s.name.value === '__typename' || keep(type, s));
    if (!selections.some((s) => isField(s) && s.name.value !== '__typename')) return [];
    return [{ ...fragment, selectionSet: { ...fragment.selectionSet, selections } }];
  });
  if (fragments.length === 0) return undefined;
  const operation = site.operation;
  const selections = operation.selectionSet.selections.map((s) =>
    s === entities ? { ...entities, selectionSet: { ...entities.selectionSet!, selections: fragments } } : s,
  );
  const replaced = { ...operation, selectionSet: { ...operation.selectionSet, selections } };
  return { ...site.document, definitions: site.document.definitions.map((d) => (d === operation ? replaced : d)) };
}

/** `fetch` running `document`: its operation text, variables and document node follow the document. */
function withDocument(
  fetch: FetchNode,
  document: DocumentNode,
  requires: QueryPlanSelectionNode[] | undefined,
  inputRewrites: FetchDataRewrite[] | undefined,
): FetchNode {
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const used = variablesIn(operation.selectionSet);
  const definitions = (operation.variableDefinitions ?? []).filter((d) => used.has(d.variable.name.value));
  const final: DocumentNode = {
    ...document,
    definitions: document.definitions.map((d) => (d === operation ? { ...operation, variableDefinitions: definitions } : d)),
  };
  const usages = definitions.map((d) => d.variable.name.value).filter((name) => name !== 'representations');
  return {
    ...fetch,
    operation: stripIgnoredCharacters(print(final)),
    variableUsages: usages,
    ...(requires && { requires }),
    ...(inputRewrites?.length ? { inputRewrites } : {}),
    ...(fetch.operationDocumentNode && { operationDocumentNode: final }),
  };
}
