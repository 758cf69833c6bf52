/**
 * Runs a query plan from `@apollo/query-planner`: its fetches, in sequence and in parallel as the
 * plan says, each against the data fetched so far. Root fetches merge their answer into the
 * response's data; entity fetches collect a representation (the plan's `requires`) from every
 * object at their path, send them in one `_entities` request (identical representations once), and
 * merge each answer back into the objects it came from. The plan's input and output rewrites are
 * applied; subgraph errors get the path into the client's response, `serviceName` and a code.
 *
 * A fetch that fails adds its error and leaves its fields missing: shaping (shape.ts) turns them
 * into nulls, propagated per the spec. Nothing here throws for a subgraph's sake.
 */
import type { FetchDataRewrite, FetchNode, PlanNode, QueryPlanSelectionNode, ResponsePath } from '@apollo/query-planner';
import { GraphQLError, isAbstractType, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { setOwn } from './shape.ts';

type Data = Record<string, unknown>;

/** A subgraph's answer as it reads JSON (errors as plain objects). */
export interface SubgraphAnswer {
  data?: Data | null | undefined;
  errors?: readonly SubgraphError[] | undefined;
}

export interface SubgraphError {
  message?: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

/** Sends one fetch to its subgraph; resolves with the answer, or an answer carrying a coded error (never rejects). */
export type SendFetch = (fetch: FetchNode, variables: Record<string, unknown>) => Promise<SubgraphAnswer>;

export interface PlanRun {
  supergraphSchema: GraphQLSchema;
  /** The request's variables, as sent. */
  variables: Record<string, unknown>;
  /** Default values of the operation's variables (for `Condition` nodes). */
  defaults: Record<string, unknown>;
  send: SendFetch;
  errors: GraphQLError[];
}

interface Cursor {
  path: ResponsePath;
  data: Data | Data[];
  full: Data;
}

/** Runs `node` with `data` as the response's data so far (written into). */
export async function executePlan(run: PlanRun, node: PlanNode, data: Data): Promise<void> {
  await executeNode(run, node, { path: [], data, full: data });
}

async function executeNode(run: PlanRun, node: PlanNode, cursor: Cursor | undefined): Promise<void> {
  if (!cursor) return;
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(run, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(run, child, cursor)));
      return;
    case 'Flatten':
      return executeNode(run, node.node, moveInto(cursor, node.path));
    case 'Fetch':
      try {
        await executeFetch(run, node, cursor);
      } catch (err) {
        run.errors.push(err instanceof GraphQLError ? err : new GraphQLError(err instanceof Error ? err.message : String(err)));
      }
      return;
    case 'Condition': {
      const own = Object.hasOwn(run.variables, node.condition) ? run.variables[node.condition] : undefined;
      const value = own === undefined ? run.defaults[node.condition] : own;
      const branch = value === true ? node.ifClause : node.elseClause;
      if (branch) await executeNode(run, branch, cursor);
      return;
    }
    case 'Defer':
      throw new GraphQLError('@defer is not supported by this gateway');
  }
}

async function executeFetch(run: PlanRun, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const entities = Array.isArray(cursor.data) ? cursor.data.filter((e) => e !== null && e !== undefined) : [cursor.data];
  if (entities.length === 0) return;
  const variables: Record<string, unknown> = {};
  for (const name of fetch.variableUsages ?? []) {
    if (Object.hasOwn(run.variables, name) && run.variables[name] !== undefined) setOwn(variables, name, run.variables[name]);
  }
  if (!fetch.requires) {
    const answer = await run.send(fetch, variables);
    collectErrors(run, fetch, cursor, answer, undefined);
    const received = answer.data;
    if (!received) return;
    applyRewrites(run.supergraphSchema, fetch.outputRewrites, received);
    for (const entity of entities) deepMerge(entity, received);
    return;
  }
  // One representation per distinct entity: the same one twice is sent once, and its answer merged into both.
  const representations: Data[] = [];
  const targets: Data[][] = [];
  /**
   * For each representation sent, the indexes its entities would have had among the representations
   * without deduplication: where their errors are reported. (As federation's gateways do, the index
   * counts only entities with a representation, though the paths it picks from count them all: an
   * error can land on the wrong element of a list whose first elements have none. The differential
   * corpus holds Interchange to the same answer.)
   */
  const indexes: number[][] = [];
  const seen = new Map<string, number>();
  let index = 0;
  for (const entity of entities) {
    const representation = selectRequires(run.supergraphSchema, entity, fetch.requires);
    if (!representation || !representation['__typename']) continue;
    applyRewrites(run.supergraphSchema, fetch.inputRewrites, representation);
    const key = JSON.stringify(representation);
    const at = seen.get(key);
    if (at === undefined) {
      seen.set(key, representations.length);
      representations.push(representation);
      targets.push([entity]);
      indexes.push([index]);
    } else {
      targets[at]!.push(entity);
      indexes[at]!.push(index);
    }
    index++;
  }
  if (representations.length === 0) return;
  if (Object.hasOwn(variables, 'representations')) throw new GraphQLError('Variables cannot contain key "representations"');
  variables['representations'] = representations;
  const answer = await run.send(fetch, variables);
  collectErrors(run, fetch, cursor, answer, indexes);
  const received = answer.data;
  if (!received) return;
  const list = received['_entities'];
  if (!Array.isArray(list)) throw new GraphQLError('Expected "data._entities" in response to be an array');
  if (list.length !== representations.length)
    throw new GraphQLError(`Expected "data._entities" to contain ${representations.length} elements`);
  for (let i = 0; i < list.length; i++) {
    const entity = list[i] as Data | null;
    const into = targets[i]!;
    if (entity && !entity['__typename']) entity['__typename'] = into[0]!['__typename'];
    if (entity) applyRewrites(run.supergraphSchema, fetch.outputRewrites, entity);
    // The answer's objects become part of the response: each object after the first gets its own
    // copy of any nested ones (later fetches may merge different things into each).
    const copy = into.length > 1 && hasNested(entity);
    into.forEach((target, t) => deepMerge(target, t > 0 && copy ? structuredClone(entity) : entity));
  }
}

/**
 * The subgraph's errors, with the client's path, `serviceName` and a code. An entity fetch's error at
 * `_entities.<i>` is reported at the path of every object that representation `i` stood for.
 */
function collectErrors(run: PlanRun, fetch: FetchNode, cursor: Cursor, answer: SubgraphAnswer, indexes: number[][] | undefined): void {
  if (!answer.errors?.length) return;
  let hydrated: ResponsePath[] | undefined;
  for (const error of answer.errors) {
    const errorPath = error.path;
    const paths: (ResponsePath | undefined)[] = [];
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydrated) {
        hydrated = [];
        hydratePaths([], cursor.path, cursor.full, hydrated);
      }
      for (const at of indexes?.[errorPath[1]] ?? [errorPath[1]]) paths.push([...(hydrated[at] ?? []), ...errorPath.slice(2)]);
    } else {
      paths.push(errorPath ? [...cursor.path, ...errorPath] : undefined);
    }
    const extensions = error.extensions ?? {};
    for (const path of paths) {
      run.errors.push(
        new GraphQLError(error.message || `Error while fetching subquery from service "${fetch.serviceName}"`, {
          path,
          extensions:
            extensions['code'] === undefined
              ? { ...extensions, serviceName: fetch.serviceName, code: 'DOWNSTREAM_SERVICE_ERROR' }
              : { ...extensions, serviceName: fetch.serviceName },
        }),
      );
    }
  }
}

/** Every concrete path the plan's path (with `@` for list elements) reaches in the data. */
function hydratePaths(parent: ResponsePath, path: ResponsePath, data: unknown, out: ResponsePath[]): void {
  if (data === null || data === undefined) return;
  const head = path[0];
  if (head === undefined) {
    out.push([...parent]);
  } else if (head === '@' || Array.isArray(data)) {
    if (!Array.isArray(data)) return;
    const rest = head === '@' ? path.slice(1) : path;
    data.forEach((value, i) => {
      parent.push(i);
      hydratePaths(parent, rest, value, out);
      parent.pop();
    });
  } else if (typeof head === 'string' && typeof data === 'object' && Object.hasOwn(data, head)) {
    parent.push(head);
    hydratePaths(parent, path.slice(1), (data as Data)[head], out);
    parent.pop();
  }
}

function moveInto(cursor: Cursor, path: ResponsePath): Cursor | undefined {
  if (path.length === 0) return cursor;
  const found: Data[] = [];
  let many = false;
  const walk = (value: unknown, at: number): void => {
    if (value === undefined || value === null) return;
    if (at === path.length) {
      found.push(value as Data);
      return;
    }
    const head = path[at];
    if (head === '@') {
      many = true;
      if (Array.isArray(value)) for (const element of value) walk(element, at + 1);
    } else if (typeof head === 'string' && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, head)) {
      walk((value as Data)[head], at + 1);
    }
  };
  if (Array.isArray(cursor.data)) {
    many = true;
    for (const element of cursor.data) walk(element, 0);
  } else {
    walk(cursor.data, 0);
  }
  if (found.length === 0 && !many) return undefined;
  // A path through lists gives the list of what it reaches (possibly empty); a path of fields alone, the one object.
  return { path: [...cursor.path, ...path], data: many ? found : found[0]!, full: cursor.full };
}

/** The representation a fetch's `requires` selects from an entity; null when an input is missing. */
function selectRequires(schema: GraphQLSchema, source: unknown, selections: QueryPlanSelectionNode[]): Data | null {
  if (source === null || typeof source !== 'object') return null;
  const object = source as Data;
  const result: Data = {};
  for (const selection of selections) {
    if (selection.kind === 'Field') {
      const name = selection.alias ?? selection.name;
      const value = Object.hasOwn(object, name) ? object[name] : undefined;
      if (value === undefined) return null;
      const sub = selection.selections;
      setOwn(
        result,
        name,
        Array.isArray(value)
          ? value.map((v: unknown) => (sub ? selectRequires(schema, v, sub) : v))
          : sub
            ? selectRequires(schema, value, sub)
            : value,
      );
    } else if (selection.typeCondition && isObjectOfType(schema, object, selection.typeCondition)) {
      deepMerge(result, selectRequires(schema, object, selection.selections));
    }
  }
  return result;
}

/** Whether an object (by its `__typename`) is of a type condition. */
function isObjectOfType(schema: GraphQLSchema, object: Data, typeCondition: string, unknownMeans = false): boolean {
  const typename = object['__typename'];
  if (typeof typename !== 'string' || typename === '') return unknownMeans;
  if (typename === typeCondition) return true;
  const type = schema.getType(typename);
  const condition = schema.getType(typeCondition);
  if (!type || !condition || !isAbstractType(condition)) return false;
  return (isObjectType(type) || isInterfaceType(type)) && schema.isSubType(condition, type);
}

const FRAGMENT_PREFIX = '... on ';

/** The plan's rewrites of a fetch's inputs or outputs: set a value, or rename a key, at a path. */
function applyRewrites(schema: GraphQLSchema, rewrites: FetchDataRewrite[] | undefined, value: Data): void {
  for (const rewrite of rewrites ?? []) {
    const last = rewrite.path[rewrite.path.length - 1];
    if (last === undefined) continue;
    const apply =
      rewrite.kind === 'ValueSetter'
        ? (object: Data) => setOwn(object, last, rewrite.setValueTo)
        : (object: Data) => {
            const at = Object.hasOwn(object, last) ? object[last] : undefined;
            if (!at) return;
            setOwn(object, rewrite.renameKeyTo, at);
            object[last] = undefined;
          };
    applyAt(schema, rewrite.path.slice(0, -1), value, apply);
  }
}

function applyAt(schema: GraphQLSchema, path: string[], value: unknown, apply: (object: Data) => void): void {
  if (Array.isArray(value)) {
    for (const element of value) applyAt(schema, path, element, apply);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const object = value as Data;
  const [first, ...rest] = path;
  if (first === undefined) return apply(object);
  if (first.startsWith(FRAGMENT_PREFIX)) {
    if (isObjectOfType(schema, object, first.slice(FRAGMENT_PREFIX.length), true)) applyAt(schema, rest, object, apply);
  } else {
    applyAt(schema, rest, Object.hasOwn(object, first) ? object[first] : undefined, apply);
  }
}

/** Whether an entity holds objects or lists (which merging would share, not copy). */
function hasNested(entity: Data | null): boolean {
  if (!entity) return false;
  for (const key in entity) if (typeof entity[key] === 'object' && entity[key] !== null) return true;
  return false;
}

const isObject = (value: unknown): value is Data => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Merges `source` into `target` in place: objects key by key, lists of the same length element by element. */
export function deepMerge(target: unknown, source: unknown): void {
  if (!isObject(target) || source === null || source === undefined || typeof source !== 'object') return;
  for (const key of Object.keys(source)) {
    const incoming = (source as Data)[key];
    if (incoming === undefined) continue;
    const existing = Object.hasOwn(target, key) ? target[key] : undefined;
    if (existing && isObject(incoming)) {
      deepMerge(existing, incoming);
    } else if (Array.isArray(incoming) && Array.isArray(existing) && incoming.length === existing.length) {
      for (let i = 0; i < incoming.length; i++) {
        if (isObject(existing[i]) && isObject(incoming[i])) deepMerge(existing[i], incoming[i]);
        else existing[i] = incoming[i];
      }
    } else {
      setOwn(target, key, incoming);
    }
  }
}
