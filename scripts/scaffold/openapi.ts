/**
 * Reads an OpenAPI 3 contract (YAML or JSON) into the scaffold's model. What it maps: GET operations
 * answering JSON; their JSON Schemas (local `$ref`s, objects with properties, arrays, strings, enums,
 * numbers, booleans) become types. A read by id is `GET /things/{id}`; a batch read a list operation
 * with an `ids` query parameter; a list one callable with no parameter (a `limit`-like one is the page
 * size); a relation `GET /owners/{ownerId}/things` or a list filtered by an `ownerId` query parameter.
 * Anything in a mapped schema it cannot express (oneOf, anyOf, allOf, maps, lists of lists, ...) is
 * refused with its place: `reviews.yaml: components.schemas.Review.properties.x: oneOf is not supported`.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { assemble, type OperationShape } from './assemble.ts';
import {
  ContractError,
  camelCase,
  constantCase,
  entityOfId,
  entityOfIds,
  isGraphQLName,
  pascalCase,
  singular,
  typeNameProblem,
  type EnumModel,
  type ObjectModel,
  type Read,
  type SubgraphModel,
  type TypeRef,
} from './model.ts';

type Schema = Record<string, unknown>;

const UNSUPPORTED = ['oneOf', 'anyOf', 'allOf', 'not'] as const;
const LIMIT_PARAMETERS = new Set([
  'limit',
  'first',
  'pageSize',
  'page_size',
  'size',
  'perPage',
  'per_page',
  'maxResults',
  'max_results',
  'count',
  'top',
]);
const DEFAULT_MAX_BATCH = 100;

const isObject = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

export async function readOpenApi(file: string, name: string): Promise<SubgraphModel> {
  const contract = basename(file);
  let document: unknown;
  try {
    document = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ContractError(contract, `cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new OpenApiReader(contract, document).read(name);
}

class OpenApiReader {
  private readonly contract: string;
  private readonly document: Schema;
  private readonly objects = new Map<string, ObjectModel>();
  private readonly enums = new Map<string, EnumModel>();
  /** Which schema each named type came from, so one name is never two types. */
  private readonly origins = new Map<string, string>();

  constructor(contract: string, document: unknown) {
    this.contract = contract;
    if (!isObject(document)) throw new ContractError(contract, 'is not an OpenAPI document');
    if (typeof document['openapi'] !== 'string' || !document['openapi'].startsWith('3.')) {
      throw this.error(
        'openapi',
        `version ${String(document['openapi'] ?? document['swagger'] ?? 'missing')} is not supported (OpenAPI 3.x is)`,
      );
    }
    this.document = document;
  }

  read(name: string): SubgraphModel {
    const operations: OperationShape[] = [];
    const skipped: string[] = [];
    const paths = isObject(this.document['paths']) ? this.document['paths'] : {};
    for (const [path, item] of Object.entries(paths)) {
      if (!isObject(item)) continue;
      for (const method of Object.keys(item)) {
        if (['post', 'put', 'patch', 'delete'].includes(method))
          skipped.push(`${method.toUpperCase()} ${path}: only reads (GET) are mapped`);
      }
      if (!isObject(item['get'])) continue;
      const shapes = this.operation(path, item, item['get']);
      if (typeof shapes === 'string') skipped.push(`GET ${path}: ${shapes}`);
      else operations.push(...shapes);
    }
    const servers = Array.isArray(this.document['servers']) ? this.document['servers'] : [];
    const server = isObject(servers[0]) && typeof servers[0]['url'] === 'string' ? servers[0]['url'] : undefined;
    return assemble(this.contract, {
      base: { name, kind: 'openapi', contract: this.contract, serverUrl: server && /^https?:\/\//.test(server) ? server : undefined },
      objects: [...this.objects.values()],
      enums: [...this.enums.values()],
      operations,
      skipped,
    });
  }

  /** The operation's shapes (one per role: batch read, list, relation), or why it is left out. */
  private operation(path: string, item: Schema, get: Schema): OperationShape[] | string {
    const where = `paths.${path}.get`;
    const answer = this.answer(where, get);
    if (!answer) return 'no JSON answer';
    const label = `GET ${path}`;
    const segments = path.split('/').filter(Boolean);
    const parameters = [...this.parameters(`paths.${path}`, item['parameters']), ...this.parameters(where, get['parameters'])];
    const pathParameters = parameters.filter((p) => p.in === 'path');
    const query = parameters.filter((p) => p.in === 'query');
    const last = segments.at(-1) ?? '';
    const hint = pascalCase(singular(last.replace(/[{}]/g, '') || 'item'));
    const shape = this.shape(answer.where, answer.schema, hint);
    if (typeof shape === 'string') return shape;
    const result = this.type(shape.where, shape.item, shape.hint, false);
    if (result.kind !== 'object') return `answers ${result.name}, not an object`;
    const read: Read = { operation: path, label, unwrap: shape.unwrap };

    if (!shape.many) {
      if (pathParameters.length !== 1 || last !== `{${pathParameters[0]!.name}}`)
        return 'a single answer, not read by one path parameter at the end';
      const input = { name: pathParameters[0]!.name, in: 'path' as const };
      return [{ read: { ...read, input }, result: result.name, many: false, byKey: true, listable: false, owners: [] }];
    }
    if (pathParameters.length > 1) return 'more than one path parameter';
    if (pathParameters.length === 1) {
      const parameter = pathParameters[0]!;
      const at = segments.indexOf(`{${parameter.name}}`);
      const owner = entityOfId(parameter.name) ?? (at > 0 ? pascalCase(singular(segments[at - 1]!)) : undefined);
      if (!owner || at === segments.length - 1) return `a list by path parameter ${parameter.name} that names no entity`;
      const field = camelCase(last);
      return [
        {
          read,
          result: result.name,
          many: true,
          byKey: false,
          listable: false,
          owners: [{ entity: owner, input: { name: parameter.name, in: 'path' } }],
          relationField: isGraphQLName(field) ? field : undefined,
        },
      ];
    }
    const ids = query.find((p) => p.name === 'ids' || entityOfIds(p.name) === result.name);
    const limit = query.find((p) => LIMIT_PARAMETERS.has(p.name) && (p.schema['type'] === 'integer' || p.schema['type'] === 'number'));
    const owners = query.flatMap((p) => {
      const entity = entityOfId(p.name);
      return entity && entity !== result.name && p.schema['type'] === 'string'
        ? [{ entity, input: { name: p.name, in: 'query' as const } }]
        : [];
    });
    const required = query.filter((p) => p.required && p !== ids && !owners.some((o) => o.input.name === p.name));
    if (required.length > 0) return `required query parameter ${required[0]!.name} is not an id, ids or page size`;
    // One operation may be a batch read, a list and a relation at once: one shape per role.
    const shapes: OperationShape[] = [];
    if (ids) {
      const list: 'repeat' | 'comma' = ids.schema['type'] === 'array' && ids.explode !== false ? 'repeat' : 'comma';
      const max = typeof ids.schema['maxItems'] === 'number' ? ids.schema['maxItems'] : DEFAULT_MAX_BATCH;
      const input = { name: ids.name, in: 'query' as const, list };
      shapes.push({ read: { ...read, input, maxBatch: max }, result: result.name, many: true, byKey: true, listable: false, owners: [] });
    }
    shapes.push({
      read: { ...read, limit: limit && { name: limit.name, in: 'query' } },
      result: result.name,
      many: true,
      byKey: false,
      listable: !query.some((p) => p.required),
      owners,
    });
    return shapes;
  }

  /** The JSON schema of the first 2xx answer, and where it is. */
  private answer(where: string, get: Schema): { schema: unknown; where: string } | undefined {
    const responses = isObject(get['responses']) ? get['responses'] : {};
    const code = Object.keys(responses).find((c) => /^2\d\d$/.test(c));
    if (!code) return undefined;
    const response = this.resolve(`${where}.responses.${code}`, responses[code]);
    const content = isObject(response.schema['content']) ? response.schema['content'] : {};
    const type = Object.keys(content).find((t) => /json/.test(t));
    const media = type ? content[type] : undefined;
    if (!isObject(media) || media['schema'] === undefined) return undefined;
    return { schema: media['schema'], where: response.where };
  }

  private parameters(where: string, list: unknown): { name: string; in: string; required: boolean; explode?: boolean; schema: Schema }[] {
    if (!Array.isArray(list)) return [];
    return list.map((raw, i) => {
      const { schema: p, where: at } = this.resolve(`${where}.parameters.${i}`, raw);
      const schema = isObject(p['schema']) ? this.resolve(`${at}.schema`, p['schema']).schema : {};
      return {
        name: String(p['name']),
        in: String(p['in']),
        required: p['required'] === true,
        explode: typeof p['explode'] === 'boolean' ? p['explode'] : undefined,
        schema,
      };
    });
  }

  /** One item, or a list (the answer itself, or its one list property), and the item's schema. */
  private shape(
    where: string,
    raw: unknown,
    hint: string,
  ): { many: boolean; unwrap?: string | undefined; item: unknown; where: string; hint: string } | string {
    const { schema, where: at, name } = this.resolve(where, raw);
    this.refuseUnsupported(at, schema);
    if (schema['type'] === 'array') return { many: true, item: schema['items'], where: `${at}.items`, hint };
    const properties = isObject(schema['properties']) ? schema['properties'] : undefined;
    if (!properties) return `the answer is not an object or a list`;
    if ('id' in properties) return { many: false, item: raw, where, hint: name ?? hint };
    const lists = Object.entries(properties).filter(([, p]) => this.resolve(at, p).schema['type'] === 'array');
    if (lists.length === 1) {
      const [property, list] = lists[0]!;
      const resolved = this.resolve(`${at}.properties.${property}`, list);
      return {
        many: true,
        unwrap: property,
        item: resolved.schema['items'],
        where: `${resolved.where}.items`,
        hint: pascalCase(singular(property)),
      };
    }
    const single = Object.entries(properties).filter(([, p]) => {
      const resolved = this.resolve(at, p).schema;
      return isObject(resolved['properties']) && 'id' in resolved['properties'];
    });
    if (single.length === 1) {
      const [property, item] = single[0]!;
      return { many: false, unwrap: property, item, where: `${at}.properties.${property}`, hint: pascalCase(property) };
    }
    return 'the answer holds neither an object with an id nor one list';
  }

  /** Follows a local `$ref`; the place and name are the referenced schema's. */
  private resolve(where: string, raw: unknown, seen = new Set<string>()): { schema: Schema; where: string; name?: string | undefined } {
    if (!isObject(raw)) throw this.error(where, 'is not an object');
    const ref = raw['$ref'];
    if (ref === undefined) return { schema: raw, where };
    if (typeof ref !== 'string' || !ref.startsWith('#/'))
      throw this.error(where, `$ref ${String(ref)} is not supported (only references within the file are)`);
    if (seen.has(ref)) throw this.error(where, `$ref ${ref} refers to itself`);
    const parts = ref
      .slice(2)
      .split('/')
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    let target: unknown = this.document;
    for (const part of parts) target = isObject(target) ? target[part] : undefined;
    if (target === undefined) throw this.error(where, `$ref ${ref} names nothing in the file`);
    const resolved = this.resolve(parts.join('.'), target, new Set([...seen, ref]));
    return { ...resolved, name: resolved.name ?? (parts[0] === 'components' && parts[1] === 'schemas' ? parts[2] : undefined) };
  }

  private refuseUnsupported(where: string, schema: Schema): void {
    for (const keyword of UNSUPPORTED) if (keyword in schema) throw this.error(where, `${keyword} is not supported`);
  }

  /** The GraphQL type of a schema; objects and enums are added to the model under `hint` (or their component name). */
  private type(where: string, raw: unknown, hint: string, nullable: boolean, property?: string): TypeRef {
    const { schema, where: at, name } = this.resolve(where, raw);
    this.refuseUnsupported(at, schema);
    let type = schema['type'];
    if (Array.isArray(type)) {
      const types = type.filter((t) => t !== 'null');
      if (types.length !== 1) throw this.error(at, `type [${type.join(', ')}] is not supported`);
      nullable ||= types.length < type.length;
      type = types[0];
    }
    nullable ||= schema['nullable'] === true;
    const typeName = name ? pascalCase(name) : hint;
    if (type === 'array') {
      if (schema['items'] === undefined) throw this.error(at, 'an array without items is not supported');
      const item = this.type(`${at}.items`, schema['items'], singular(typeName), false, property);
      if (item.list) throw this.error(`${at}.items`, 'a list of lists is not supported');
      return { ...item, list: true, nullable };
    }
    if (type === 'object' || (type === undefined && isObject(schema['properties']))) {
      return { name: this.object(at, schema, typeName), kind: 'object', list: false, nullable };
    }
    if (type === 'string' && Array.isArray(schema['enum'])) {
      return { name: this.enumeration(at, schema['enum'], typeName), kind: 'enum', list: false, nullable };
    }
    const scalar =
      type === 'string'
        ? property === 'id' || (property && (entityOfId(property) || entityOfIds(property)))
          ? 'ID'
          : 'String'
        : type === 'integer'
          ? schema['format'] === 'int64'
            ? 'Float'
            : 'Int'
          : type === 'number'
            ? 'Float'
            : type === 'boolean'
              ? 'Boolean'
              : undefined;
    if (!scalar)
      throw this.error(at, type === undefined ? 'a schema without a type is not supported' : `type ${String(type)} is not supported`);
    return { name: scalar, kind: 'scalar', list: false, nullable };
  }

  private object(where: string, schema: Schema, name: string): string {
    const problem = typeNameProblem(name);
    if (problem) throw this.error(where, problem);
    if (this.claim(where, name)) return name;
    const properties = isObject(schema['properties']) ? schema['properties'] : {};
    if (Object.keys(properties).length === 0) {
      throw this.error(
        where,
        schema['additionalProperties'] ? 'additionalProperties (a map) is not supported' : 'an object without properties is not supported',
      );
    }
    const object: ObjectModel = { name, fields: [], references: [], description: text(schema['description']) };
    this.objects.set(name, object);
    const required = new Set(Array.isArray(schema['required']) ? schema['required'].map(String) : []);
    for (const [property, value] of Object.entries(properties)) {
      const at = `${where}.properties.${property}`;
      if (!isGraphQLName(property)) throw this.error(at, `'${property}' is not a GraphQL field name`);
      const type = this.type(at, value, `${name}${pascalCase(property)}`, !required.has(property), property);
      const description = isObject(value) ? text(value['description']) : undefined;
      object.fields.push({ name: property, type, description });
    }
    return name;
  }

  private enumeration(where: string, values: unknown[], name: string): string {
    const problem = typeNameProblem(name);
    if (problem) throw this.error(where, problem);
    if (this.claim(where, name)) return name;
    const mapped = values.map((value) => {
      const graphql = constantCase(String(value));
      if (typeof value !== 'string' || !isGraphQLName(graphql) || ['TRUE', 'FALSE', 'NULL'].includes(graphql)) {
        throw this.error(where, `enum value ${JSON.stringify(value)} has no GraphQL name`);
      }
      return { name: graphql, value };
    });
    const twice = mapped.find((v, i) => mapped.findIndex((w) => w.name === v.name) !== i);
    if (twice) throw this.error(where, `enum values ${JSON.stringify(twice.value)} and another both become ${twice.name}`);
    this.enums.set(name, { name, values: mapped });
    return name;
  }

  /** Whether `name` is already the type of this schema; a second schema under the same name is refused. */
  private claim(where: string, name: string): boolean {
    const origin = this.origins.get(name);
    if (origin === undefined) {
      this.origins.set(name, where);
      return false;
    }
    if (origin === where) return true;
    throw this.error(where, `becomes type ${name}, as ${origin} does already`);
  }

  private error(where: string, problem: string): ContractError {
    return new ContractError(`${this.contract}: ${where}`, problem);
  }
}

const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim().replace(/\s+/g, ' ') : undefined);
