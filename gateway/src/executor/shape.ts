/**
 * The response of an operation, shaped from the data its plan fetched: a shaper compiled once per
 * operation (and cached with its plan) walks the merged subgraph data along the operation's
 * selections and writes the response, with no graphql-js execution over the merged data.
 *
 * What it does, as federation's gateways do: keeps only what the operation selects (fetches carry
 * keys, requirements and `__typename`s the client did not ask for), in the operation's field order;
 * applies `@skip`/`@include`; answers `__typename` (root types and `@interfaceObject` types included:
 * an object whose `__typename` names no object type of the API schema becomes null) and the
 * introspection fields; checks leaf values against their type; and propagates nulls per the spec: a
 * null in a non-null position makes its nearest nullable parent null, with one error at the
 * deepest path.
 */
import {
  Kind,
  TypeNameMetaFieldDef,
  executeSync,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  OperationTypeNode,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { GraphQLError } from 'graphql';

type Data = Record<string, unknown>;
type Path = (string | number)[];

/** `@skip`/`@include` of a selection: a literal, or the variable it reads. */
interface Condition {
  skip: boolean | string | undefined;
  include: boolean | string | undefined;
}

interface FieldStep {
  kind: 'field';
  responseName: string;
  /** The response name is also a property every object inherits (`constructor`, `__proto__`): read and write it as an own one. */
  inherited: boolean;
  condition: Condition | undefined;
  /** `__typename` (possibly aliased). */
  typename: boolean;
  /** `__schema` or `__type`: answered by graphql-js on the API schema. */
  introspection: DocumentNode | undefined;
  type: ValueShape;
}

interface FragmentStep {
  kind: 'fragment';
  condition: Condition | undefined;
  /** Type names the type condition applies to (itself and its subtypes); undefined without a condition. */
  appliesTo: Set<string> | undefined;
  typeCondition: GraphQLCompositeType | undefined;
  steps: Step[];
}

type Step = FieldStep | FragmentStep;

type ValueShape =
  | { kind: 'nonNull'; of: ValueShape }
  | { kind: 'list'; of: ValueShape }
  | { kind: 'leaf'; name: string; valid: (value: unknown) => boolean }
  | { kind: 'composite'; name: string; steps: Step[] };

/** A compiled operation: call it with the fetched data and the request's variables. */
export interface Shaper {
  (
    input: Data | null | undefined,
    variables: Record<string, unknown> | undefined,
  ): { data: Data | null | undefined; errors: GraphQLError[] };
}

interface Run {
  schema: GraphQLSchema;
  variables: Record<string, unknown>;
  errors: GraphQLError[];
}

const NULL_BUBBLE_UP = Symbol('null bubbles up');

export function compileShaper(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): Shaper {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) throw new GraphQLError(`the schema has no ${operation.operation} type`);
  const compiler = new Compiler(schema, fragments, operation);
  const steps = compiler.selectionSet(rootType, operation.selectionSet);
  const defaults = variableDefaults(operation);
  const hasDefaults = Object.keys(defaults).length > 0;
  return (input, variables) => {
    if (!input) return { data: input, errors: [] };
    const run: Run = { schema, variables: hasDefaults ? { ...defaults, ...variables } : (variables ?? {}), errors: [] };
    const data: Data = {};
    const result = applySteps(run, steps, input, data, [], rootType.name);
    return { data: result === NULL_BUBBLE_UP ? null : data, errors: run.errors };
  };
}

/** Default values of an operation's variables. */
export function variableDefaults(operation: OperationDefinitionNode): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) defaults[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
  }
  return defaults;
}

class Compiler {
  private readonly schema: GraphQLSchema;
  private readonly fragments: Map<string, FragmentDefinitionNode>;
  private readonly operation: OperationDefinitionNode;
  private readonly subtypes = new Map<string, Set<string>>();

  constructor(schema: GraphQLSchema, fragments: Map<string, FragmentDefinitionNode>, operation: OperationDefinitionNode) {
    this.schema = schema;
    this.fragments = fragments;
    this.operation = operation;
  }

  selectionSet(parent: GraphQLCompositeType, selectionSet: SelectionSetNode): Step[] {
    const steps: Step[] = [];
    for (const selection of selectionSet.selections) {
      const condition = conditionOf(selection.directives);
      if (selection.kind === Kind.FIELD) {
        steps.push(this.field(parent, selection, condition));
      } else {
        const typeConditionNode =
          selection.kind === Kind.INLINE_FRAGMENT ? selection.typeCondition : this.fragment(selection.name.value).typeCondition;
        const selections =
          selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : this.fragment(selection.name.value).selectionSet;
        const typeCondition = typeConditionNode ? (this.schema.getType(typeConditionNode.name.value) as GraphQLCompositeType) : undefined;
        steps.push({
          kind: 'fragment',
          condition,
          appliesTo: typeCondition && this.subtypesOf(typeCondition),
          typeCondition,
          steps: this.selectionSet(typeCondition ?? parent, selections),
        });
      }
    }
    return steps;
  }

  private fragment(name: string): FragmentDefinitionNode {
    const fragment = this.fragments.get(name);
    if (!fragment) throw new GraphQLError(`Unknown fragment "${name}".`);
    return fragment;
  }

  private field(parent: GraphQLCompositeType, node: FieldNode, condition: Condition | undefined): FieldStep {
    const name = node.name.value;
    const responseName = node.alias?.value ?? name;
    const inherited = responseName in Object.prototype;
    const field = { kind: 'field', responseName, inherited, condition } as const;
    if (name === TypeNameMetaFieldDef.name) return { ...field, typename: true, introspection: undefined, type: LEAF_ANY };
    if (name === '__schema' || name === '__type') {
      return { ...field, typename: false, introspection: this.introspectionDocument(node), type: LEAF_ANY };
    }
    if (isUnionType(parent)) throw new GraphQLError(`Cannot query field "${name}" on type "${parent.name}".`);
    const definition = parent.getFields()[name];
    if (!definition) throw new GraphQLError(`Cannot query field "${name}" on type "${parent.name}".`);
    return { ...field, typename: false, introspection: undefined, type: this.value(definition.type, node) };
  }

  private value(type: GraphQLOutputType, node: FieldNode): ValueShape {
    if (isNonNullType(type)) return { kind: 'nonNull', of: this.value(type.ofType, node) };
    if (isListType(type)) return { kind: 'list', of: this.value(type.ofType, node) };
    if (isLeafType(type)) return { kind: 'leaf', name: type.name, valid: leafValidator(type) };
    const named = getNamedType(type) as GraphQLCompositeType;
    return { kind: 'composite', name: named.name, steps: node.selectionSet ? this.selectionSet(named, node.selectionSet) : [] };
  }

  /** The type itself and every type it is a supertype of, as federation's `isSubtype` has it. */
  private subtypesOf(type: GraphQLCompositeType): Set<string> {
    let set = this.subtypes.get(type.name);
    if (!set) {
      set = new Set([type.name]);
      if (isUnionType(type)) for (const member of type.getTypes()) set.add(member.name);
      if (isInterfaceType(type)) {
        const { objects, interfaces } = this.schema.getImplementations(type);
        for (const t of [...objects, ...interfaces]) set.add(t.name);
      }
      this.subtypes.set(type.name, set);
    }
    return set;
  }

  /** A query of just this introspection field, with the fragments and variables it uses. */
  private introspectionDocument(node: FieldNode): DocumentNode {
    return {
      kind: Kind.DOCUMENT,
      definitions: [
        {
          kind: Kind.OPERATION_DEFINITION,
          operation: OperationTypeNode.QUERY,
          variableDefinitions: this.operation.variableDefinitions ?? [],
          selectionSet: { kind: Kind.SELECTION_SET, selections: [node] },
        },
        ...this.fragments.values(),
      ],
    };
  }
}

const LEAF_ANY: ValueShape = { kind: 'leaf', name: 'String', valid: () => true };

function conditionOf(directives: FieldNode['directives']): Condition | undefined {
  if (!directives?.length) return undefined;
  let skip: Condition['skip'];
  let include: Condition['include'];
  for (const directive of directives) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const arg = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    const value = arg?.kind === Kind.VARIABLE ? arg.name.value : arg?.kind === Kind.BOOLEAN ? arg.value : undefined;
    if (name === 'skip') skip = value;
    else include = value;
  }
  return skip === undefined && include === undefined ? undefined : { skip, include };
}

function skipped(condition: Condition | undefined, variables: Record<string, unknown>): boolean {
  if (!condition) return false;
  const read = (v: boolean | string | undefined) => (typeof v === 'string' ? variables[v] === true : v);
  if (condition.skip !== undefined && read(condition.skip)) return true;
  return condition.include !== undefined && !read(condition.include);
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/** Whether a leaf value fits its type, as federation's gateways check it (custom scalars take anything). */
function leafValidator(type: Parameters<typeof isEnumType>[0]): (value: unknown) => boolean {
  if (isEnumType(type)) {
    const values = new Set(type.getValues().map((v) => v.name));
    return (value) => typeof value === 'string' && values.has(value);
  }
  const name = (type as { name: string }).name;
  switch (name) {
    case 'Boolean':
      return (value) => typeof value === 'boolean';
    case 'Int':
      return (value) => typeof value === 'number' && Number.isFinite(value) && INTEGER.test(String(value));
    case 'ID':
      return (value) => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value) && INTEGER.test(String(value)));
    case 'Float':
      return (value) => typeof value === 'number' && Number.isFinite(value);
    case 'String':
      return (value) => typeof value === 'string';
    default:
      return () => true;
  }
}

function applySteps(run: Run, steps: Step[], input: Data, output: Data, path: Path, parentType: string): typeof NULL_BUBBLE_UP | undefined {
  for (const step of steps) {
    if (step.condition && skipped(step.condition, run.variables)) continue;
    if (step.kind === 'fragment') {
      const typename = input['__typename'];
      const applies = !step.appliesTo
        ? true
        : typeof typename === 'string' && typename !== ''
          ? run.schema.getType(typename) !== undefined && step.appliesTo.has(typename)
          : step.appliesTo.has(parentType);
      if (applies && applySteps(run, step.steps, input, output, path, step.typeCondition?.name ?? parentType) === NULL_BUBBLE_UP) {
        return NULL_BUBBLE_UP;
      }
      continue;
    }
    const { responseName, inherited } = step;
    const outputValue = inherited ? (Object.hasOwn(output, responseName) ? output[responseName] : undefined) : output[responseName];
    if (step.introspection) {
      if (outputValue === undefined) write(output, step, introspect(run, step.introspection, responseName));
      continue;
    }
    let inputValue = Object.hasOwn(input, responseName) ? (input[responseName] ?? null) : null;
    if (step.typename) {
      if (outputValue !== undefined) continue;
      if (inputValue === null && responseName !== '__typename') inputValue = input['__typename'] ?? null;
      const named =
        typeof inputValue === 'string'
          ? (run.schema.getType(inputValue) ?? run.schema.getType(parentType))
          : run.schema.getType(parentType);
      if (!isObjectType(named)) return NULL_BUBBLE_UP;
      write(output, step, named.name);
      continue;
    }
    path.push(responseName);
    const { updated, invalid } = update(run, outputValue, step.type, inputValue, path, parentType);
    write(output, step, updated);
    path.pop();
    if (invalid) return NULL_BUBBLE_UP;
  }
  return undefined;
}

interface Updated {
  updated: unknown;
  /** A null in a non-null position: it bubbles up. */
  invalid?: boolean;
  /** An error was recorded for this value already (so its parents record none). */
  hasErrors?: boolean;
}

function describe(path: Path, shape: ValueShape, parentType: string): string {
  const last = path[path.length - 1];
  return typeof last === 'string' ? `field ${parentType}.${last}` : `array element of type ${printShape(shape)} at index ${String(last)}`;
}

function printShape(shape: ValueShape): string {
  switch (shape.kind) {
    case 'nonNull':
      return `${printShape(shape.of)}!`;
    case 'list':
      return `[${printShape(shape.of)}]`;
    default:
      return shape.name;
  }
}

function invalidGraphQL(message: string, path: Path): GraphQLError {
  return new GraphQLError(message, { path: [...path], extensions: { code: 'INVALID_GRAPHQL' } });
}

function update(run: Run, outputValue: unknown, shape: ValueShape, inputValue: unknown, path: Path, parentType: string): Updated {
  if (outputValue === null || (outputValue !== undefined && (shape.kind === 'leaf' || leafOf(shape)))) return { updated: outputValue };
  switch (shape.kind) {
    case 'nonNull': {
      const { updated, hasErrors } = update(run, outputValue, shape.of, inputValue, path, parentType);
      if (updated !== null) return { updated };
      if (!hasErrors) run.errors.push(invalidGraphQL(`Cannot return null for non-nullable ${describe(path, shape.of, parentType)}.`, path));
      return { updated, invalid: true, hasErrors: true };
    }
    case 'list': {
      if (inputValue === null) return { updated: null };
      if (!Array.isArray(inputValue)) return invalidValue(run, shape, path, parentType);
      const previous = Array.isArray(outputValue) ? (outputValue as unknown[]) : undefined;
      let nullify = false;
      let hasErrors = false;
      const updated = new Array<unknown>(inputValue.length);
      for (let i = 0; i < inputValue.length; i++) {
        path.push(i);
        const element = update(run, previous?.[i], shape.of, inputValue[i] ?? null, path, parentType);
        path.pop();
        nullify ||= element.invalid === true;
        hasErrors ||= element.hasErrors === true;
        updated[i] = element.updated;
      }
      return { updated: nullify ? null : updated, hasErrors };
    }
    case 'composite': {
      if (inputValue === null) return { updated: null };
      if (typeof inputValue !== 'object' || Array.isArray(inputValue)) return invalidValue(run, shape, path, parentType);
      const object = inputValue as Data;
      const typename = object['__typename'];
      let objectType = shape.name;
      if (typeof typename === 'string' && typename !== '') {
        const named = run.schema.getType(typename);
        if (!named || isLeafType(named) || (!isObjectType(named) && !isAbstractType(named))) {
          run.errors.push(invalidGraphQL(`Invalid __typename found for object at ${describe(path, shape, parentType)}.`, path));
          return { updated: null, hasErrors: true };
        }
        objectType = named.name;
      }
      const target = (outputValue ?? {}) as Data;
      const bubbled = applySteps(run, shape.steps, object, target, path, objectType) === NULL_BUBBLE_UP;
      return { updated: bubbled ? null : target, hasErrors: bubbled };
    }
    case 'leaf': {
      if (inputValue === null) return { updated: null };
      if (shape.valid(inputValue)) return { updated: inputValue };
      run.errors.push(invalidGraphQL(`Invalid value found for ${describe(path, shape, parentType)}.`, path));
      return { updated: null, hasErrors: true };
    }
  }
}

/** Whether a wrapped shape ends in a leaf (a value already written for it is final). */
function leafOf(shape: ValueShape): boolean {
  while (shape.kind === 'nonNull' || shape.kind === 'list') shape = shape.of;
  return shape.kind === 'leaf';
}

/** A subgraph sent a value of the wrong kind (an object for a list, a scalar for an object): null, with an error. */
function invalidValue(run: Run, shape: ValueShape, path: Path, parentType: string): Updated {
  run.errors.push(invalidGraphQL(`Invalid value found for ${describe(path, shape, parentType)}.`, path));
  return { updated: null, hasErrors: true };
}

function introspect(run: Run, document: DocumentNode, responseName: string): unknown {
  const { data } = executeSync({ schema: run.schema, document, rootValue: {}, variableValues: run.variables });
  return data?.[responseName] ?? null;
}

function write(output: Data, step: FieldStep, value: unknown): void {
  if (step.inherited) setOwn(output, step.responseName, value);
  else output[step.responseName] = value;
}

/** Sets a key as the object's own, `__proto__` included. */
export function setOwn(target: Data, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}
