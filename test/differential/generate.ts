/**
 * Operations generated from an API schema, random but seeded (the same cases on every run): query
 * fields to a bounded depth, arguments from enums and from the ids the supergraph says exist (inline
 * or as variables), aliases, inline and named fragments (on abstract types and on objects), and
 * `@skip`/`@include` with Boolean variables. Every operation is validated against the schema; one
 * that does not validate (an alias that clashes, say) is dropped and another drawn.
 */
import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  validate,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { apiSchemaOf, compose, type Case, type GeneratorHints, type SubgraphServer, type SupergraphDef } from './harness.ts';

/** mulberry32: small, fast, and the same sequence everywhere. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

class Draw {
  private readonly random: () => number;
  private readonly variables: { name: string; type: string; value: unknown }[] = [];
  private readonly fragments: string[] = [];
  private counter = 0;
  private readonly schema: GraphQLSchema;
  private readonly hints: GeneratorHints;

  constructor(schema: GraphQLSchema, hints: GeneratorHints, seed: number) {
    this.schema = schema;
    this.hints = hints;
    this.random = rng(seed);
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  /** Fisher-Yates, on a copy. */
  private shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  private next(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.counter}`;
  }

  /** A value for an argument, or undefined when none is known. */
  private valueFor(owner: string, arg: GraphQLArgument): { literal: string; value: unknown } | undefined {
    const named = getNamedType(arg.type);
    const known = this.hints.values[`${owner}.${arg.name}`] ?? this.hints.values[named.name];
    if (isListType(getNullableType(arg.type))) {
      if (!known && !isEnumType(named)) return undefined;
      const items = isEnumType(named) ? [this.pick(named.getValues()).name] : [this.pick(known!)];
      const literal = isEnumType(named) ? `[${String(items[0])}]` : `[${JSON.stringify(items[0])}]`;
      return { literal, value: items };
    }
    if (isEnumType(named)) {
      const value = this.pick(named.getValues()).name;
      return { literal: value, value };
    }
    if (isInputObjectType(named)) return undefined;
    const pool = known ?? (named.name === 'Int' ? [1, 2, 3] : named.name === 'Boolean' ? [true, false] : undefined);
    if (!pool) return undefined;
    const value = this.pick(pool);
    return { literal: JSON.stringify(value), value };
  }

  private argumentsFor(owner: string, field: GraphQLField<unknown, unknown>): string | undefined {
    const parts: string[] = [];
    for (const arg of field.args) {
      const required = isNonNullType(arg.type) && arg.defaultValue === undefined;
      if (!required && !this.chance(0.4)) continue;
      const v = this.valueFor(owner, arg);
      if (!v) {
        if (required) return undefined;
        continue;
      }
      if (this.chance(0.35)) {
        const name = this.next('v');
        this.variables.push({ name, type: String(arg.type as GraphQLInputType), value: v.value });
        parts.push(`${arg.name}: $${name}`);
      } else {
        parts.push(`${arg.name}: ${v.literal}`);
      }
    }
    return parts.length > 0 ? `(${parts.join(', ')})` : '';
  }

  private condition(): string {
    if (!this.chance(0.12)) return '';
    const name = this.next('c');
    this.variables.push({ name, type: 'Boolean!', value: this.chance(0.5) });
    return this.chance(0.5) ? ` @include(if: $${name})` : ` @skip(if: $${name})`;
  }

  /** A selection set on `type`; never empty. */
  selection(type: GraphQLCompositeType, depth: number): string {
    if (isAbstractType(type)) {
      const parts = ['__typename'];
      const possible = this.schema.getPossibleTypes(type);
      if (!isObjectType(type) && 'getFields' in type && this.chance(0.6)) parts.push(...this.fields(type, depth, 1));
      const chosen = possible.filter(() => this.chance(0.6));
      for (const object of chosen.length > 0 ? chosen : [this.pick(possible)]) parts.push(this.fragment(object, depth));
      return parts.join(' ');
    }
    const parts = this.fields(type, depth, 4);
    if (this.chance(0.2)) parts.push(this.fragment(type, depth));
    if (this.chance(0.1)) parts.push('__typename');
    return parts.join(' ');
  }

  /** An inline fragment or a spread of a named one, on `type`. */
  private fragment(type: GraphQLObjectType, depth: number): string {
    const body = this.fields(type, depth, 2).join(' ');
    if (this.chance(0.5)) return `... on ${type.name}${this.condition()} { ${body} }`;
    const name = this.next(`${type.name}Fields`);
    this.fragments.push(`fragment ${name} on ${type.name} { ${body} }`);
    return `...${name}`;
  }

  private fields(
    type: { name: string; getFields(): Record<string, GraphQLField<unknown, unknown>> },
    depth: number,
    most: number,
  ): string[] {
    const all = Object.values(type.getFields()).filter((f) => !f.name.startsWith('_'));
    const usable = depth <= 1 ? all.filter((f) => isLeafType(getNamedType(f.type))) : all;
    const pool = usable.length > 0 ? usable : all.filter((f) => isLeafType(getNamedType(f.type)));
    const count = 1 + Math.floor(this.random() * Math.min(most, pool.length));
    const chosen = this.shuffle(pool).slice(0, count);
    const parts: string[] = [];
    for (const field of chosen) {
      const args = this.argumentsFor(`${type.name}.${field.name}`, field);
      if (args === undefined) continue;
      const alias = this.chance(0.2) ? `${this.next('a')}: ` : '';
      const named = getNamedType(field.type);
      const sub = isLeafType(named) ? '' : ` { ${this.selection(named as GraphQLCompositeType, depth - 1)} }`;
      parts.push(`${alias}${field.name}${args}${this.condition()}${sub}`);
    }
    if (parts.length === 0) parts.push('__typename');
    return parts;
  }

  operation(name: string, depth: number): { query: string; variables: Record<string, unknown> } {
    const query = this.schema.getQueryType()!;
    const body = this.fields(query, depth, 2).join(' ');
    const head = this.variables.length > 0 ? `(${this.variables.map((v) => `$${v.name}: ${v.type}`).join(', ')})` : '';
    const text = [`query ${name}${head} { ${body} }`, ...this.fragments].join('\n');
    return { query: text, variables: Object.fromEntries(this.variables.map((v) => [v.name, v.value])) };
  }
}

/** A short description of a generated operation: its root fields and what it uses. */
function describe(query: string): string {
  const document = parse(query);
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  const roots = operation?.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : '...')) ?? [];
  const uses = [
    /\ba\d+: /.test(query) && 'aliases',
    /\.\.\. on /.test(query) && 'inline fragments',
    document.definitions.some((d) => d.kind === Kind.FRAGMENT_DEFINITION) && 'named fragments',
    /@(skip|include)/.test(query) && '@skip/@include',
    /\$v\d+/.test(query) && 'variables',
  ].filter(Boolean);
  return [roots.join(', '), ...(uses.length > 0 ? [`(${uses.join(', ')})`] : [])].join(' ');
}

/** `hints.count` distinct valid operations over `schema`, the same on every run for the same `name`. */
export function generateCases(name: string, schema: GraphQLSchema, hints: GeneratorHints): Case[] {
  const cases: Case[] = [];
  const seen = new Set<string>();
  for (let attempt = 0; cases.length < hints.count && attempt < hints.count * 20; attempt++) {
    const draw = new Draw(schema, hints, seedOf(`${name}:${attempt}`));
    const op = draw.operation(`G${cases.length + 1}`, hints.depth ?? 4);
    const key = op.query.replace(/^query G\d+/, '') + JSON.stringify(op.variables);
    if (seen.has(key) || hints.skip?.(op.query)) continue;
    if (validate(schema, parse(op.query)).length > 0) continue;
    seen.add(key);
    const hasVariables = Object.keys(op.variables).length > 0;
    cases.push({
      name: `generated #${cases.length + 1}: ${describe(op.query)}`,
      query: op.query,
      ...(hasVariables && { variables: op.variables }),
    });
  }
  if (cases.length < hints.count) throw new Error(`${name}: only ${cases.length} of ${hints.count} operations could be generated`);
  return cases;
}

/** A supergraph's cases: its own, then the generated ones (from its API schema, which no subgraph URL changes). */
export function casesOf(def: SupergraphDef): Case[] {
  if (!def.generate) return def.cases;
  const placeholder = {
    url: (supergraph: string, subgraph: string) => `http://127.0.0.1:9/${supergraph}/${subgraph}/graphql`,
  } as SubgraphServer;
  return [...def.cases, ...generateCases(def.name, apiSchemaOf(compose(def, placeholder)), def.generate)];
}
