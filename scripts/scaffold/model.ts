/**
 * The one model both contract readers produce and every writer reads: the types a subgraph serves,
 * which of them are entities (keyed by `id`), how each is read from the backend (by id, in a batch,
 * as a list, by a related entity's id), and the relations to entities of other subgraphs.
 * Nothing here knows REST or gRPC beyond the names a `Read` carries.
 */

/** A contract the generator cannot map: `where` names the file and the construct's place in it. */
export class ContractError extends Error {
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}`);
    this.name = 'ContractError';
  }
}

export type Scalar = 'ID' | 'String' | 'Int' | 'Float' | 'Boolean';

export interface TypeRef {
  /** A scalar, or the name of an object or enum of the model. */
  name: string;
  kind: 'scalar' | 'object' | 'enum';
  /** A list of non-null items. */
  list: boolean;
  nullable: boolean;
}

export interface FieldModel {
  /** The GraphQL name, which is also the property's name in the backend's answer. */
  name: string;
  type: TypeRef;
  description?: string | undefined;
}

export interface ObjectModel {
  name: string;
  fields: FieldModel[];
  description?: string | undefined;
  /** `<x>Id` fields that name an entity: each gets a field `<x>` resolving to that entity. */
  references: ReferenceModel[];
}

export interface ReferenceModel {
  /** The new field (`product`), from the id field (`productId`). */
  field: string;
  idField: string;
  entity: string;
  /** Whether the id field is a list (`productIds` gives `products`). */
  list: boolean;
  nullable: boolean;
}

export interface EnumModel {
  name: string;
  /** GraphQL value name -> the value the backend sends. */
  values: { name: string; value: string }[];
}

/** One backend read: a REST GET or a unary rpc. */
export interface Read {
  /** REST: the path template (`/reviews/{reviewId}`); gRPC: the rpc's name. */
  operation: string;
  /** For people: `GET /reviews/{reviewId}` or `rpc GetShipment`. */
  label: string;
  /** The id (or ids) it takes: a path or query parameter, or a request field. */
  input?: { name: string; in: 'path' | 'query' | 'field'; list?: 'comma' | 'repeat' | 'array' } | undefined;
  /** The page size it takes, for list reads. */
  limit?: { name: string; in: 'query' | 'field' } | undefined;
  /** The property of the answer that holds the result; undefined: the answer is the result. */
  unwrap?: string | undefined;
  /** The most ids one batch read takes. */
  maxBatch?: number | undefined;
}

export interface EntityModel {
  /** The object type (its key field is `id`). */
  name: string;
  /** The root fields: one by id, and the list. */
  rootOne: string;
  rootList: string;
  byId?: Read | undefined;
  batch?: Read | undefined;
  list?: Read | undefined;
}

/** A one-to-many relation: `owner.field` lists the `entity`s whose `<owner>Id` is the owner's id. */
export interface RelationModel {
  owner: string;
  field: string;
  entity: string;
  read: Read;
}

export interface SubgraphModel {
  /** The subgraph's name (`reviews`). */
  name: string;
  kind: 'openapi' | 'proto';
  /** The contract's file name in schema/openapi or schema/proto. */
  contract: string;
  /** gRPC: the service's full name (`acme.shipping.v1.Shipping`). */
  service?: string | undefined;
  /** Where the backend is, when the contract says (OpenAPI `servers`). */
  serverUrl?: string | undefined;
  objects: ObjectModel[];
  enums: EnumModel[];
  /** The objects that are entities: keyed by `id` and readable by id (alone or in a batch). */
  entities: EntityModel[];
  /** Objects only listed (no read by id), with their list read. */
  lists: { name: string; rootList: string; read: Read }[];
  relations: RelationModel[];
  /** Entities of other subgraphs this one refers to or extends: `type X @key(fields: "id") { id: ID! }`. */
  stubs: string[];
  /** Operations the generator left out, with why, for the report. */
  skipped: string[];
}

// Names.

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

export const isGraphQLName = (name: string) => GRAPHQL_NAME.test(name) && !name.startsWith('__');

/** Type names a subgraph's own types cannot take: GraphQL's scalars and root types (and, below, `_`-prefixed and spec names). */
const RESERVED = new Set(['ID', 'String', 'Int', 'Float', 'Boolean', 'Query', 'Mutation', 'Subscription']);

/** Why `name` cannot be a type of the subgraph, or undefined when it can. */
export function typeNameProblem(name: string): string | undefined {
  if (!isGraphQLName(name)) return `'${name}' is not a GraphQL type name`;
  if (RESERVED.has(name) || name.startsWith('_') || name.startsWith('link__') || name.startsWith('join__'))
    return `type name '${name}' is reserved`;
  return undefined;
}

const words = (text: string) =>
  text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);

export const pascalCase = (text: string) =>
  words(text)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

export const camelCase = (text: string) => {
  const pascal = pascalCase(text);
  return pascal.slice(0, 1).toLowerCase() + pascal.slice(1);
};

/** `SHIPPED`, `IN_TRANSIT` from `shipped`, `in-transit`, `inTransit`. */
export const constantCase = (text: string) =>
  words(text)
    .map((w) => w.toUpperCase())
    .join('_');

export function plural(word: string): string {
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  return `${word}s`;
}

export function singular(word: string): string {
  if (/ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/(s|x|z|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (/[^s]s$/.test(word)) return word.slice(0, -1);
  return word;
}

/** The entity an id field or parameter names: `productId`, `product_id` -> `Product`; `id` -> undefined. */
export function entityOfId(name: string): string | undefined {
  const match = /^(.+?)_?(Id|ID|_id)$/.exec(name);
  return match ? pascalCase(match[1]!) : undefined;
}

/** The entity a list of ids names: `productIds`, `product_ids` -> `Product`. */
export function entityOfIds(name: string): string | undefined {
  const match = /^(.+?)_?(Ids|IDs|_ids)$/.exec(name);
  return match ? pascalCase(match[1]!) : undefined;
}

/** The subgraph's name as code names it: `reviews` -> `Reviews`, `order-notes` -> `OrderNotes`. */
export const codeName = (subgraph: string) => pascalCase(subgraph);
/** Its config schema's name: `reviewsConfig`, `orderNotesConfig`. */
export const configName = (subgraph: string) => `${camelCase(subgraph)}Config`;

/** Its backend's setting: `REVIEWS_SERVICE_URL` (REST) or `SHIPPING_SERVICE_ADDRESS` (gRPC). */
export const serviceSetting = (model: Pick<SubgraphModel, 'name' | 'kind'>) =>
  `${constantCase(model.name)}_SERVICE_${model.kind === 'openapi' ? 'URL' : 'ADDRESS'}`;

/** Its backend's name in errors and on /readyz. */
export const upstreamName = (subgraph: string) => `${subgraph}-service`;

// Names the code writers share.

/** The request loader of an entity (`review`), and of a relation (`reviewsOfProduct`). */
export const entityLoader = (entity: string) => camelCase(entity);
export const relationLoader = (relation: RelationModel) => `${relation.field}Of${relation.owner}`;
/** The data source's methods. */
export const byIdMethod = (entity: string) => `get${entity}`;
export const batchMethod = (entity: string) => `get${entity}Batch`;
export const listMethod = (type: string) => `list${plural(type)}`;
