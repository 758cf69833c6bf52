/**
 * Reads a .proto contract (one service) into the scaffold's model, through @grpc/proto-loader, the
 * loader the subgraph itself uses at run time. What it maps: unary rpcs and the messages and enums
 * they reach. A read by id takes an `id` (or `<message>_id`) field and answers the message (or one
 * message field holding it); a batch read takes `repeated string ids`; a list answers one repeated
 * message field and takes a page size or nothing; a relation takes an `<owner>_id` field. What it cannot
 * express is refused with its place: `reviews.proto: message Review field 'x': map<...> is not supported`.
 */
import { basename, dirname, resolve } from 'node:path';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { assemble, type OperationShape } from './assemble.ts';
import {
  ContractError,
  entityOfId,
  entityOfIds,
  isGraphQLName,
  typeNameProblem,
  type EnumModel,
  type ObjectModel,
  type SubgraphModel,
  type TypeRef,
} from './model.ts';

/** The parts of protobuf descriptors (as proto-loader gives them) read here. */
interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: MessageDescriptor[];
  enumType: EnumDescriptor[];
  oneofDecl: { name: string }[];
  options: { mapEntry?: boolean } | null;
}
interface EnumDescriptor {
  name: string;
  value: { name: string }[];
}
interface MethodDefinition {
  requestStream: boolean;
  responseStream: boolean;
  requestType: { type: unknown };
  responseType: { type: unknown };
}

const LIMIT_FIELDS = new Set(['page_size', 'limit', 'first', 'max_results', 'size', 'count']);

const SCALARS: Readonly<Record<string, TypeRef['name']>> = {
  TYPE_STRING: 'String',
  TYPE_BOOL: 'Boolean',
  TYPE_INT32: 'Int',
  TYPE_SINT32: 'Int',
  TYPE_SFIXED32: 'Int',
  // Beyond GraphQL's 32-bit Int: unsigned 32-bit as Float; 64-bit as String (the loader's `longs: String`).
  TYPE_UINT32: 'Float',
  TYPE_FIXED32: 'Float',
  TYPE_INT64: 'String',
  TYPE_SINT64: 'String',
  TYPE_SFIXED64: 'String',
  TYPE_UINT64: 'String',
  TYPE_FIXED64: 'String',
  TYPE_DOUBLE: 'Float',
  TYPE_FLOAT: 'Float',
};

/** A field's name as the run-time loader gives it (protobuf.js's camel case, `keepCase: false`). */
export const jsName = (name: string) => name.slice(0, 1) + name.slice(1).replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

export function readProto(file: string, name: string): SubgraphModel {
  const contract = basename(file);
  let definition: PackageDefinition;
  try {
    definition = loadSync(basename(file), { keepCase: true, includeDirs: [dirname(resolve(file))] });
  } catch (err) {
    throw new ContractError(contract, `cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new ProtoReader(contract, definition).read(name);
}

class ProtoReader {
  private readonly contract: string;
  private readonly definition: PackageDefinition;
  /** Every message and enum by full name, nested ones too (the loader lists only top-level ones). */
  private readonly messages = new Map<string, MessageDescriptor>();
  private readonly enumDescriptors = new Map<string, EnumDescriptor>();
  private readonly packageName: string;
  private readonly service: string;
  private readonly objects = new Map<string, ObjectModel>();
  private readonly enums = new Map<string, EnumModel>();

  constructor(contract: string, definition: PackageDefinition) {
    this.contract = contract;
    this.definition = definition;
    const index = (prefix: string, message: MessageDescriptor) => {
      this.messages.set(prefix, message);
      for (const nested of message.nestedType) index(`${prefix}.${nested.name}`, nested);
      for (const nested of message.enumType) this.enumDescriptors.set(`${prefix}.${nested.name}`, nested);
    };
    for (const [fullName, value] of Object.entries(definition)) {
      if (!('format' in value) || typeof value.format !== 'string') continue;
      if (/EnumDescriptorProto$/.test(value.format)) this.enumDescriptors.set(fullName, value.type as unknown as EnumDescriptor);
      else index(fullName, value.type as unknown as MessageDescriptor);
    }
    const services = Object.entries(definition).filter(([, v]) => !('format' in v));
    if (services.length === 0) throw new ContractError(contract, 'defines no service');
    if (services.length > 1) {
      throw new ContractError(
        contract,
        `defines ${services.length} services (${services.map(([n]) => n).join(', ')}): one per contract is supported`,
      );
    }
    this.service = services[0]![0];
    this.packageName = this.service.includes('.') ? this.service.slice(0, this.service.lastIndexOf('.')) : '';
  }

  read(name: string): SubgraphModel {
    const operations: OperationShape[] = [];
    const skipped: string[] = [];
    for (const [method, raw] of Object.entries(this.definition[this.service] as unknown as Record<string, MethodDefinition>)) {
      const shapes = this.operation(method, raw);
      if (typeof shapes === 'string') skipped.push(`rpc ${method}: ${shapes}`);
      else operations.push(...shapes);
    }
    return assemble(this.contract, {
      base: { name, kind: 'proto', contract: this.contract, service: this.service },
      objects: [...this.objects.values()],
      enums: [...this.enums.values()],
      operations,
      skipped,
    });
  }

  private operation(method: string, definition: MethodDefinition): OperationShape[] | string {
    if (definition.requestStream || definition.responseStream) return 'streaming rpcs are not mapped';
    const label = `rpc ${method}`;
    const request = definition.requestType.type as MessageDescriptor;
    const response = definition.responseType.type as MessageDescriptor;
    const answer = this.answer(this.fullNameOf(response), response);
    if (typeof answer === 'string') return answer;
    const result = this.object(answer.message);
    const resultName = result.name;
    const stringField = (f: FieldDescriptor) => f.type === 'TYPE_STRING' && f.label !== 'LABEL_REPEATED';
    const read = { operation: method, label, unwrap: answer.unwrap && jsName(answer.unwrap) };
    if (!answer.many) {
      const id = request.field.find((f) => stringField(f) && (f.name === 'id' || entityOfId(f.name) === resultName));
      if (!id) return `answers one ${resultName} without taking its id`;
      return [
        {
          read: { ...read, input: { name: jsName(id.name), in: 'field' } },
          result: resultName,
          many: false,
          byKey: true,
          listable: false,
          owners: [],
        },
      ];
    }
    const ids = request.field.find(
      (f) => f.type === 'TYPE_STRING' && f.label === 'LABEL_REPEATED' && (f.name === 'ids' || entityOfIds(f.name) === resultName),
    );
    const limit = request.field.find((f) => LIMIT_FIELDS.has(f.name) && SCALARS[f.type] === 'Int');
    const owners = request.field.flatMap((f) => {
      const entity = stringField(f) ? entityOfId(f.name) : undefined;
      return entity && entity !== resultName ? [{ entity, input: { name: jsName(f.name), in: 'field' as const } }] : [];
    });
    const shapes: OperationShape[] = [];
    if (ids) {
      const input = { name: jsName(ids.name), in: 'field' as const, list: 'array' as const };
      shapes.push({ read: { ...read, input }, result: resultName, many: true, byKey: true, listable: false, owners: [] });
    }
    shapes.push({
      read: { ...read, limit: limit && { name: jsName(limit.name), in: 'field' } },
      result: resultName,
      many: true,
      byKey: false,
      listable: !ids && (limit !== undefined || (method.startsWith('List') && owners.length === 0)),
      owners: ids ? [] : owners,
      relationField: answer.unwrap && jsName(answer.unwrap),
    });
    return shapes;
  }

  /** Where the answer's result is: the message itself (it has an id), or its one repeated or single message field. */
  private answer(fullName: string, response: MessageDescriptor): { message: string; many: boolean; unwrap?: string } | string {
    if (response.field.some((f) => f.name === 'id')) return { message: fullName, many: false };
    const messages = response.field.filter((f) => f.type === 'TYPE_MESSAGE' && !this.isMap(fullName, f));
    const repeated = messages.filter((f) => f.label === 'LABEL_REPEATED');
    if (repeated.length === 1) return { message: this.resolve(fullName, repeated[0]!), many: true, unwrap: repeated[0]!.name };
    if (repeated.length === 0 && messages.length === 1)
      return { message: this.resolve(fullName, messages[0]!), many: false, unwrap: messages[0]!.name };
    return `its answer ${this.typeName(fullName)} holds neither an id nor one message field`;
  }

  private message(fullName: string): MessageDescriptor {
    return this.messages.get(fullName)!;
  }

  /** A method's message by its content: the loader gives a copy of the descriptor, without its full name. */
  private fullNameOf(descriptor: MessageDescriptor): string {
    const text = JSON.stringify(descriptor);
    for (const [fullName, message] of this.messages) if (JSON.stringify(message) === text) return fullName;
    return descriptor.name;
  }

  /** The full name of a field's message or enum type, by protobuf's scoping rules (innermost scope first). */
  private resolve(scope: string, field: FieldDescriptor): string {
    if (field.typeName.startsWith('.')) return field.typeName.slice(1);
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), field.typeName].join('.');
      if (this.messages.has(candidate) || this.enumDescriptors.has(candidate)) return candidate;
    }
    return field.typeName;
  }

  private isMap(scope: string, field: FieldDescriptor): boolean {
    return field.type === 'TYPE_MESSAGE' && this.messages.get(this.resolve(scope, field))?.options?.mapEntry === true;
  }

  /** `acme.shipping.v1.Shipment.Parcel` -> `ShipmentParcel`. */
  private typeName(fullName: string): string {
    const local = this.packageName && fullName.startsWith(`${this.packageName}.`) ? fullName.slice(this.packageName.length + 1) : fullName;
    return local.replaceAll('.', '');
  }

  private object(fullName: string): ObjectModel {
    const name = this.typeName(fullName);
    const existing = this.objects.get(name);
    if (existing) return existing;
    const where = `message ${fullName.slice(this.packageName.length + 1) || fullName}`;
    if (fullName.startsWith('google.protobuf.')) throw this.error(where, `${fullName} is not supported`);
    const problem = typeNameProblem(name) ?? (this.enums.has(name) ? `becomes type ${name}, as an enum does already` : undefined);
    if (problem) throw this.error(where, problem);
    const message = this.message(fullName);
    const object: ObjectModel = { name, fields: [], references: [] };
    this.objects.set(name, object);
    // A proto3 `optional` field is a oneof of its own, named `_<field>` (the descriptors the loader
    // gives carry no other mark of it); any other oneof is refused.
    const optional = new Set(message.oneofDecl.map((o) => o.name.slice(1)).filter((n) => message.field.some((f) => f.name === n)));
    const oneof = message.oneofDecl.find((o) => !optional.has(o.name.slice(1)));
    if (oneof) throw this.error(`${where} oneof '${oneof.name}'`, 'oneof is not supported');
    for (const field of message.field) {
      const at = `${where} field '${field.name}'`;
      const graphqlName = jsName(field.name);
      if (!isGraphQLName(graphqlName)) throw this.error(at, `'${graphqlName}' is not a GraphQL field name`);
      object.fields.push({ name: graphqlName, type: this.fieldType(at, fullName, field, optional.has(field.name)) });
    }
    return object;
  }

  private fieldType(where: string, scope: string, field: FieldDescriptor, optional: boolean): TypeRef {
    const list = field.label === 'LABEL_REPEATED';
    // The loader fills absent scalars with their defaults (`defaults: true`): only messages and
    // proto3 `optional` fields can be null.
    const nullable = !list && (field.type === 'TYPE_MESSAGE' || optional);
    if (this.isMap(scope, field)) {
      const entry = this.resolve(scope, field);
      const [key, value] = this.message(entry).field.map((f) =>
        f.typeName ? this.typeName(this.resolve(entry, f)) : f.type.slice(5).toLowerCase(),
      );
      throw this.error(where, `map<${key}, ${value}> is not supported`);
    }
    if (field.type === 'TYPE_MESSAGE') {
      const fullName = this.resolve(scope, field);
      if (fullName.startsWith('google.protobuf.')) throw this.error(where, `${fullName} is not supported`);
      return { name: this.object(fullName).name, kind: 'object', list, nullable };
    }
    if (field.type === 'TYPE_ENUM') return { name: this.enumeration(this.resolve(scope, field)), kind: 'enum', list, nullable };
    const scalar = SCALARS[field.type];
    if (!scalar) throw this.error(where, `${field.type.slice(5).toLowerCase()} is not supported`);
    const isId = scalar === 'String' && (field.name === 'id' || (list ? entityOfIds(field.name) : entityOfId(field.name)) !== undefined);
    return { name: isId ? 'ID' : scalar, kind: 'scalar', list, nullable };
  }

  private enumeration(fullName: string): string {
    const name = this.typeName(fullName);
    if (this.enums.has(name)) return name;
    const problem = typeNameProblem(name) ?? (this.objects.has(name) ? `becomes type ${name}, as a message does already` : undefined);
    if (problem) throw this.error(`enum ${fullName.slice(this.packageName.length + 1) || fullName}`, problem);
    const values = this.enumDescriptors.get(fullName)!.value.map((v) => {
      if (!isGraphQLName(v.name) || ['true', 'false', 'null'].includes(v.name))
        throw this.error(`enum ${name} value ${v.name}`, 'is not a GraphQL name');
      return { name: v.name, value: v.name };
    });
    this.enums.set(name, { name, values });
    return name;
  }

  private error(where: string, problem: string): ContractError {
    return new ContractError(`${this.contract}: ${where}`, problem);
  }
}
