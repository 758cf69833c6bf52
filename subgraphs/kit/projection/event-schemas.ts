/**
 * A topic's contract: a folder of JSON Schema files (draft-07), one per event type, read by one set
 * of rules for the scaffolder (`interchange subgraph new --from-topic`, which maps it to GraphQL) and
 * for the subgraph it writes (which validates events against it at run time).
 *
 * The convention (README, "Adding a subgraph"):
 * - every `*.json` file of the folder is the schema of one event type: `"type": "object"` with
 *   `properties`; the event's type is the required property `type` with a `const` string that is
 *   a name as GraphQL's (`"type": { "const": "StockReceived" }`), one per file;
 * - the event's id is the required string property marked `"x-event-id": true`, else the one named
 *   `eventId` or `id`;
 * - the entity's key is the required string or integer property marked `"x-key": true`: every
 *   file names the same one;
 * - `occurredAt` (a string), when there, is when the event happened;
 * - the entity's name is `"x-entity"` at the top of the schemas (the same in each) or, when none
 *   says, the caller's default;
 * - every other property is a field of the entity; a property in several files must have one shape
 *   (its type may allow null, or a nested property be optional, in some: then it is so on the entity).
 *   Fields are scalars (string, integer, number, boolean, with `["<type>", "null"]` allowed; an
 *   integer is a GraphQL Int only when `minimum` and `maximum` keep it within 32 bits), lists
 *   of them, and objects with `properties` (recursively).
 * A construct these rules cannot map (no key, `oneOf`, `$ref`, a free-form object, a property name
 * GraphQL cannot take ...) is an `EventSchemaError` naming the file and the JSON pointer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A construct of the contract that cannot be mapped, with where it is (`file#/json/pointer`). */
export class EventSchemaError extends Error {
  readonly where: string;
  readonly problem: string;
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}`);
    this.name = 'EventSchemaError';
    this.where = where;
    this.problem = problem;
  }
}

export type ScalarShape = 'string' | 'integer' | 'number' | 'boolean';

/** A property's shape, as GraphQL can type it. */
export type Shape =
  | {
      kind: 'scalar';
      scalar: ScalarShape;
      nullable: boolean;
      /** For an integer: whether `minimum` and `maximum` keep it within 32 bits (what GraphQL's Int holds). */
      int32?: boolean;
    }
  | { kind: 'list'; of: Shape; nullable: boolean }
  | { kind: 'object'; fields: FieldShape[]; nullable: boolean };

export interface FieldShape {
  name: string;
  shape: Shape;
  /** Required in every schema that has it (for nested objects: required in the object). */
  required: boolean;
  description?: string | undefined;
}

export interface EventTypeContract {
  /** The `type` const. */
  type: string;
  /** The file's name in the folder. */
  file: string;
  schema: Record<string, unknown>;
}

export interface EventContract {
  /** The entity's name when the schemas say (`x-entity`). */
  entity?: string | undefined;
  /** The key property. */
  key: string;
  keyScalar: 'string' | 'integer';
  /** The event id property. */
  id: string;
  /** Whether events carry `occurredAt`. */
  occurredAt: boolean;
  types: EventTypeContract[];
  /** The entity's fields (key first), merged over every event type. */
  fields: FieldShape[];
}

const UNMAPPABLE = ['oneOf', 'anyOf', 'allOf', 'not', '$ref', 'if', 'patternProperties', 'dependencies'] as const;
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
/** Properties of an event that are not fields of the entity. */
const ENVELOPE = 'type';

const pointer = (file: string, path: readonly string[]) =>
  `${file}#${path.map((p) => `/${p.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')}`;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads a folder of event schemas by the convention above; throws EventSchemaError on what it cannot map. */
export function readEventSchemas(dir: string): EventContract {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch (err) {
    throw new EventSchemaError(dir, `cannot read the folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (names.length === 0) throw new EventSchemaError(dir, 'no event schema (*.json) in the folder');
  const files = names.map((file) => {
    let schema: unknown;
    try {
      schema = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch (err) {
      throw new EventSchemaError(file, `not JSON: ${(err as Error).message}`);
    }
    return { file, schema };
  });
  return eventContract(files);
}

/** The contract of already parsed schemas, `file` naming each in errors. */
export function eventContract(files: readonly { file: string; schema: unknown }[]): EventContract {
  const types: EventTypeContract[] = [];
  const entities = new Set<string>();
  const keys = new Map<string, string>();
  const ids = new Map<string, string>();
  const fields = new Map<string, { field: FieldShape; file: string }>();
  let occurredAt = false;
  let keyScalar: 'string' | 'integer' = 'string';
  for (const { file, schema } of files) {
    const at = (...path: string[]) => pointer(file, path);
    if (!isObject(schema)) throw new EventSchemaError(at(), 'an event schema must be a JSON object');
    if (typeof schema['$schema'] === 'string' && !schema['$schema'].includes('draft-07'))
      throw new EventSchemaError(at('$schema'), `${schema['$schema']} is not supported: write draft-07 schemas`);
    for (const keyword of UNMAPPABLE)
      if (keyword in schema)
        throw new EventSchemaError(at(keyword), `\`${keyword}\` at the top of an event schema cannot be mapped: one schema per event type`);
    if (schema['type'] !== 'object' || !isObject(schema['properties']))
      throw new EventSchemaError(at('type'), 'an event schema must be `"type": "object"` with `properties`');
    const properties = schema['properties'];
    const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : []);
    const discriminator = properties[ENVELOPE];
    if (!isObject(discriminator) || typeof discriminator['const'] !== 'string' || !required.has(ENVELOPE))
      throw new EventSchemaError(at('properties', ENVELOPE), 'the event type must be the required property `type` with a `const` string');
    const type = discriminator['const'];
    if (!GRAPHQL_NAME.test(type))
      throw new EventSchemaError(
        at('properties', ENVELOPE, 'const'),
        `event type ${JSON.stringify(type)} is not a name (letters, digits and _, not starting with a digit)`,
      );
    const twin = types.find((t) => t.type === type);
    if (twin) throw new EventSchemaError(at('properties', ENVELOPE, 'const'), `event type ${type} is the type of ${twin.file} too`);
    if (typeof schema['x-entity'] === 'string') entities.add(schema['x-entity']);

    const marked = (mark: string) =>
      Object.keys(properties).filter((name) => isObject(properties[name]) && properties[name][mark] === true);
    const keyNames = marked('x-key');
    if (keyNames.length !== 1)
      throw new EventSchemaError(
        at('properties'),
        keyNames.length === 0
          ? 'no key field: mark the property that identifies the entity with `"x-key": true`'
          : `several key fields (${keyNames.join(', ')}): mark one with \`"x-key": true\``,
      );
    const key = keyNames[0]!;
    const keySchema = properties[key] as Record<string, unknown>;
    if ((keySchema['type'] !== 'string' && keySchema['type'] !== 'integer') || !required.has(key))
      throw new EventSchemaError(at('properties', key), 'the key field must be a required string or integer');
    keyScalar = keySchema['type'];
    keys.set(file, key);

    const idNames = marked('x-event-id');
    const id = idNames[0] ?? ['eventId', 'id'].find((name) => name in properties && name !== key);
    if (idNames.length > 1 || id === undefined)
      throw new EventSchemaError(
        at('properties'),
        idNames.length > 1
          ? 'several event id fields: mark one with `"x-event-id": true`'
          : 'no event id: add a required `eventId` string, or mark one with `"x-event-id": true`',
      );
    if ((properties[id] as Record<string, unknown>)['type'] !== 'string' || !required.has(id))
      throw new EventSchemaError(at('properties', id), 'the event id must be a required string');
    ids.set(file, id);
    if ('occurredAt' in properties) {
      if ((properties['occurredAt'] as Record<string, unknown>)['type'] !== 'string')
        throw new EventSchemaError(at('properties', 'occurredAt'), '`occurredAt` must be a string (a date-time)');
      occurredAt = true;
    }

    for (const [name, property] of Object.entries(properties)) {
      if (name === ENVELOPE || name === id) continue;
      const field: FieldShape = {
        name,
        shape: shapeOf(property, file, ['properties', name]),
        required: required.has(name),
        description: isObject(property) && typeof property['description'] === 'string' ? property['description'] : undefined,
      };
      if (!GRAPHQL_NAME.test(name) || name.startsWith('__'))
        throw new EventSchemaError(at('properties', name), `'${name}' cannot be a GraphQL field name`);
      const seen = fields.get(name);
      if (seen && !sameShape(seen.field.shape, field.shape))
        throw new EventSchemaError(at('properties', name), `its shape differs from the one in ${seen.file}: a field has one type`);
      fields.set(name, {
        field: {
          ...field,
          shape: seen ? mergedShape(seen.field.shape, field.shape) : field.shape,
          required: field.required && (seen?.field.required ?? true),
        },
        file,
      });
    }
    types.push({ type, file, schema });
  }
  const [first] = files;
  const keyNames = new Set(keys.values());
  if (keyNames.size > 1)
    throw new EventSchemaError(
      pointer([...keys].find(([, k]) => k !== keys.get(first!.file))![0], ['properties']),
      `the key field differs between event types (${[...keyNames].join(', ')}): every event names the same`,
    );
  const idNames = new Set(ids.values());
  if (idNames.size > 1)
    throw new EventSchemaError(
      pointer([...ids].find(([, i]) => i !== ids.get(first!.file))![0], ['properties']),
      `the event id field differs between event types (${[...idNames].join(', ')})`,
    );
  if (entities.size > 1)
    throw new EventSchemaError(first!.file, `the schemas name several entities in x-entity: ${[...entities].join(', ')}`);
  const key = [...keyNames][0]!;
  // A field missing from some event type is not required of the entity (an upsert keeps it absent until an event brings it).
  for (const entry of fields.values())
    if (files.some(({ schema }) => !(entry.field.name in ((schema as Record<string, Record<string, unknown>>)['properties'] ?? {}))))
      entry.field.required = false;
  const merged = [...fields.values()].map((entry) => entry.field);
  return {
    entity: [...entities][0],
    key,
    keyScalar,
    id: [...idNames][0]!,
    occurredAt,
    types,
    fields: [...merged.filter((f) => f.name === key), ...merged.filter((f) => f.name !== key)],
  };
}

function shapeOf(schema: unknown, file: string, path: string[]): Shape {
  const at = (...more: string[]) => pointer(file, [...path, ...more]);
  if (!isObject(schema)) throw new EventSchemaError(at(), 'a property schema must be an object');
  for (const keyword of UNMAPPABLE)
    if (keyword in schema) throw new EventSchemaError(at(keyword), `\`${keyword}\` cannot be mapped to a GraphQL type`);
  let type = schema['type'];
  const nullable = Array.isArray(type) && type.includes('null');
  if (Array.isArray(type)) {
    const others = type.filter((t) => t !== 'null');
    if (others.length !== 1) throw new EventSchemaError(at('type'), `a union of types (${type.join(', ')}) cannot be mapped`);
    type = others[0];
  } else if ('const' in schema && type === undefined) {
    type = typeof schema['const'] === 'string' ? 'string' : undefined;
  }
  switch (type) {
    case 'integer':
      return { kind: 'scalar', scalar: type, nullable, int32: int32(schema) };
    case 'string':
    case 'number':
    case 'boolean':
      return { kind: 'scalar', scalar: type, nullable };
    case 'array':
      if (!isObject(schema['items'])) throw new EventSchemaError(at('items'), 'a list needs one `items` schema');
      return { kind: 'list', of: shapeOf(schema['items'], file, [...path, 'items']), nullable };
    case 'object': {
      const properties = schema['properties'];
      if (!isObject(properties) || Object.keys(properties).length === 0)
        throw new EventSchemaError(at(), 'a free-form object (no `properties`) cannot be mapped to a GraphQL type');
      const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : []);
      return {
        kind: 'object',
        nullable,
        fields: Object.entries(properties).map(([name, property]) => {
          if (!GRAPHQL_NAME.test(name) || name.startsWith('__'))
            throw new EventSchemaError(at('properties', name), `'${name}' cannot be a GraphQL field name`);
          return { name, shape: shapeOf(property, file, [...path, 'properties', name]), required: required.has(name) };
        }),
      };
    }
    default:
      throw new EventSchemaError(
        at('type'),
        type === undefined ? 'a property needs a `type`' : `type ${JSON.stringify(type)} cannot be mapped`,
      );
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Whether an integer schema's bounds keep its values within 32 bits. */
function int32(schema: Record<string, unknown>): boolean {
  const bound = (inclusive: unknown, exclusive: unknown, step: number) =>
    typeof inclusive === 'number' ? inclusive : typeof exclusive === 'number' ? exclusive + step : undefined;
  const low = bound(schema['minimum'], schema['exclusiveMinimum'], 1);
  const high = bound(schema['maximum'], schema['exclusiveMaximum'], -1);
  return low !== undefined && high !== undefined && low >= INT32_MIN && high <= INT32_MAX;
}

/** Whether two shapes are one type (nullability and `required` aside: mergedShape takes the loosest of them). */
function sameShape(a: Shape, b: Shape): boolean {
  if (a.kind === 'scalar' && b.kind === 'scalar') return a.scalar === b.scalar;
  if (a.kind === 'list' && b.kind === 'list') return sameShape(a.of, b.of);
  if (a.kind === 'object' && b.kind === 'object')
    return (
      a.fields.length === b.fields.length && a.fields.every((f) => b.fields.some((g) => g.name === f.name && sameShape(f.shape, g.shape)))
    );
  return false;
}

/**
 * One field's shape over two event schemas (sameShape holds): null allowed, or a nested field not
 * required, in either is so in the result, at every depth.
 */
function mergedShape(a: Shape, b: Shape): Shape {
  const nullable = a.nullable || b.nullable;
  if (a.kind === 'list' && b.kind === 'list') return { kind: 'list', of: mergedShape(a.of, b.of), nullable };
  if (a.kind === 'object' && b.kind === 'object')
    return {
      kind: 'object',
      nullable,
      fields: a.fields.map((f) => {
        const g = b.fields.find((other) => other.name === f.name)!;
        return { ...f, shape: mergedShape(f.shape, g.shape), required: f.required && g.required };
      }),
    };
  if (a.kind === 'scalar' && b.kind === 'scalar' && a.scalar === 'integer')
    return { ...a, nullable, int32: a.int32 === true && b.int32 === true };
  return { ...a, nullable };
}
