/**
 * Which served operations (the gateway's usage record) a schema change touches. The record names
 * the fields and arguments each operation used; the schema they were served on adds the types
 * those reach (a field's type; an argument's input type and every input type and enum inside it),
 * so a change to a type, an enum value or an input field finds the operations that use it.
 */
import { getNamedType, isInputObjectType, isInterfaceType, isObjectType, type GraphQLNamedType, type GraphQLSchema } from 'graphql';
import type { ServedOperation } from '../../gateway/src/usage/record.ts';
import type { SchemaChange } from './schema-changes.ts';

/** What one served operation touches of the schema it was served on. */
export interface Footprint {
  operation: ServedOperation;
  fields: Set<string>;
  arguments: Set<string>;
  /** Every type it touches: the types it selects on, the fields' types, the arguments' input types. */
  types: Set<string>;
  /** The input types (and enums inside them) its arguments take. */
  inputTypes: Set<string>;
}

export function footprints(schema: GraphQLSchema, operations: readonly ServedOperation[]): Footprint[] {
  return operations.map((operation) => {
    const types = new Set<string>();
    const inputTypes = new Set<string>();
    const addInput = (type: GraphQLNamedType) => {
      if (inputTypes.has(type.name)) return;
      inputTypes.add(type.name);
      types.add(type.name);
      if (isInputObjectType(type)) for (const field of Object.values(type.getFields())) addInput(getNamedType(field.type));
    };
    const fieldOf = (typeName: string, fieldName: string) => {
      const type = schema.getType(typeName);
      return isObjectType(type) || isInterfaceType(type) ? type.getFields()[fieldName] : undefined;
    };
    for (const coordinate of operation.fields) {
      const [typeName = '', fieldName = ''] = coordinate.split('.');
      types.add(typeName);
      const field = fieldOf(typeName, fieldName);
      if (field) types.add(getNamedType(field.type).name);
    }
    for (const coordinate of operation.arguments) {
      const [, typeName = '', fieldName = '', argName = ''] = /^([^.]+)\.([^(]+)\(([^:]+):\)$/.exec(coordinate) ?? [];
      const argument = fieldOf(typeName, fieldName)?.args.find((a) => a.name === argName);
      if (argument) addInput(getNamedType(argument.type));
    }
    return { operation, fields: new Set(operation.fields), arguments: new Set(operation.arguments), types, inputTypes };
  });
}

/**
 * The served operations a change touches, most used first; undefined when the record cannot say
 * (directives: it does not keep them).
 */
export function operationsAffected(change: SchemaChange, prints: readonly Footprint[]): ServedOperation[] | undefined {
  const uses = usedBy(change);
  if (!uses) return undefined;
  return prints
    .filter(uses)
    .map((p) => p.operation)
    .sort((a, b) => b.count - a.count || a.hash.localeCompare(b.hash));
}

function usedBy({ kind, target }: SchemaChange): ((p: Footprint) => boolean) | undefined {
  if (target.directive !== undefined) return undefined;
  const { type, member = '' } = target;
  const field = `${type}.${target.field ?? ''}`;
  const argument = `${field}(${target.argument ?? ''}:)`;
  switch (kind) {
    case 'FIELD_REMOVED':
    case 'FIELD_CHANGED_KIND':
      return (p) => p.fields.has(field) || p.inputTypes.has(type);
    case 'REQUIRED_INPUT_FIELD_ADDED':
    case 'OPTIONAL_INPUT_FIELD_ADDED':
      return (p) => p.inputTypes.has(type);
    case 'REQUIRED_ARG_ADDED':
      return (p) => p.fields.has(field);
    case 'ARG_REMOVED':
    case 'ARG_CHANGED_KIND':
    case 'OPTIONAL_ARG_ADDED':
      return (p) => p.arguments.has(argument);
    case 'ARG_DEFAULT_VALUE_CHANGE':
      return (p) => p.fields.has(field) && !p.arguments.has(argument);
    case 'TYPE_REMOVED_FROM_UNION':
    case 'IMPLEMENTED_INTERFACE_REMOVED':
      // Only operations that select the member through the union or interface lose it.
      return (p) => p.types.has(type) && p.types.has(member);
    case 'IMPLEMENTED_INTERFACE_ADDED':
      return (p) => p.types.has(member);
    default:
      // A type removed or changed, an enum value or union member added or removed, and the safe changes.
      return (p) => p.types.has(type);
  }
}
