/**
 * Every change between two API schemas, classified breaking, dangerous or safe, with the schema
 * coordinate it is about and why it is classified so.
 *
 * Breaking and dangerous changes are graphql-js's own (`findBreakingChanges`,
 * `findDangerousChanges`), read into coordinates from their descriptions, which graphql 16 words
 * one way per change type. Two of graphql-js's dangerous changes are safe here, as graphql-js 17
 * and GraphQL Inspector also have them: an optional argument or input field added (operations that
 * leave it out run as before). The safe changes graphql-js does not report (types, fields and
 * directives added, compatible type changes, deprecations, descriptions) are found here.
 */
import {
  BreakingChangeType,
  DangerousChangeType,
  findBreakingChanges,
  findDangerousChanges,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

export type Severity = 'breaking' | 'dangerous' | 'safe';

/** The schema element a change is about, in parts: what the usage check matches operations on. */
export interface ChangeTarget {
  type: string;
  field?: string;
  argument?: string;
  /** The enum value added or removed. */
  value?: string;
  /** The union member or interface added or removed. */
  member?: string;
  directive?: string;
}

export interface SchemaChange {
  severity: Severity;
  /** graphql-js's change type (`FIELD_REMOVED`, …), or one of `SAFE_CHANGES` for those it does not report. */
  kind: string;
  /** `Type`, `Type.field`, `Type.field(arg:)`, `Enum.VALUE`, `@directive` or `@directive(arg:)`. */
  coordinate: string;
  target: ChangeTarget;
  /** What changed. */
  message: string;
  /** Why it is classified so. */
  why: string;
}

/** The safe changes graphql-js does not report. */
export const SAFE_CHANGES = {
  TYPE_ADDED: 'nothing referred to it before',
  FIELD_ADDED: 'operations get only the fields they select',
  DIRECTIVE_ADDED: 'no operation could use it before',
  OUTPUT_TYPE_NARROWED: 'what clients get still fits the type they were written for',
  INPUT_TYPE_WIDENED: 'every value the old type accepted is still accepted',
  DEPRECATION_ADDED: 'still served as before; tools now warn those who use it',
  DEPRECATION_REMOVED: 'served as before',
  DESCRIPTION_CHANGED: 'documentation only',
} as const;

const B = BreakingChangeType;
const D = DangerousChangeType;
type Part = keyof ChangeTarget | '';

interface Reader {
  pattern: RegExp;
  /** What each of the pattern's groups is ('' for one that is not kept). */
  parts: Part[];
  why: string;
  /** When it differs from graphql-js's. */
  severity?: Severity;
}

/** A reader of descriptions worded as `pattern`, where each `N` is a name. */
const reader = (pattern: string, parts: Part[], why: string, severity?: Severity): Reader => ({
  pattern: new RegExp(`^${pattern.replaceAll('N', '([_A-Za-z][_0-9A-Za-z]*)')}`),
  parts,
  why,
  ...(severity && { severity }),
});

/** How each graphql-js change type is read: the pattern of its description, what the names in it are, and why it matters. */
const READERS: Record<string, Reader> = {
  [B.TYPE_REMOVED]: reader(
    '(?:Standard scalar )?N was removed',
    ['type'],
    'operations that select its fields, spread fragments on it or declare variables of it fail validation',
  ),
  [B.TYPE_CHANGED_KIND]: reader('N changed from', ['type'], 'selections and values written for the old kind fail validation'),
  [B.TYPE_REMOVED_FROM_UNION]: reader(
    'N was removed from union type N\\.',
    ['member', 'type'],
    'fragments on the member inside the union fail validation, and results no longer include it',
  ),
  [B.VALUE_REMOVED_FROM_ENUM]: reader(
    'N was removed from enum type N\\.',
    ['value', 'type'],
    'operations that pass the value fail validation, and clients may still expect it',
  ),
  [B.REQUIRED_INPUT_FIELD_ADDED]: reader(
    'A required field N on input type N was added\\.',
    ['field', 'type'],
    'values of the input type written without the new field fail validation',
  ),
  [B.IMPLEMENTED_INTERFACE_REMOVED]: reader(
    'N no longer implements interface N\\.',
    ['type', 'member'],
    'fragments on the type inside the interface fail validation, and results through the interface no longer include it',
  ),
  [B.FIELD_REMOVED]: reader('N\\.N was removed\\.', ['type', 'field'], 'operations that use it fail validation'),
  [B.FIELD_CHANGED_KIND]: reader(
    'N\\.N changed type from',
    ['type', 'field'],
    'the new type does not fit the old: operations written for it fail validation or get values they do not expect',
  ),
  [B.REQUIRED_ARG_ADDED]: reader(
    'A required arg N on N\\.N was added\\.',
    ['argument', 'type', 'field'],
    'operations that select the field without the new argument fail validation',
  ),
  [B.ARG_REMOVED]: reader('N\\.N arg N was removed\\.', ['type', 'field', 'argument'], 'operations that pass it fail validation'),
  [B.ARG_CHANGED_KIND]: reader(
    'N\\.N arg N has changed type from',
    ['type', 'field', 'argument'],
    'values passed for the old type may fail validation',
  ),
  [B.DIRECTIVE_REMOVED]: reader('N was removed\\.', ['directive'], 'operations that use it fail validation'),
  [B.DIRECTIVE_ARG_REMOVED]: reader('N was removed from N\\.', ['argument', 'directive'], 'operations that pass it fail validation'),
  [B.REQUIRED_DIRECTIVE_ARG_ADDED]: reader(
    'A required arg N on directive N was added\\.',
    ['argument', 'directive'],
    'operations that use the directive without the new argument fail validation',
  ),
  [B.DIRECTIVE_REPEATABLE_REMOVED]: reader(
    'Repeatable flag was removed from N\\.',
    ['directive'],
    'operations that repeat it fail validation',
  ),
  [B.DIRECTIVE_LOCATION_REMOVED]: reader('N was removed from N\\.', ['', 'directive'], 'operations that use it there fail validation'),
  [D.VALUE_ADDED_TO_ENUM]: reader('N was added to enum type N\\.', ['value', 'type'], 'clients may receive a value they do not know'),
  [D.TYPE_ADDED_TO_UNION]: reader('N was added to union type N\\.', ['member', 'type'], 'clients may receive a member they do not handle'),
  [D.IMPLEMENTED_INTERFACE_ADDED]: reader(
    'N added to interfaces implemented by N\\.',
    ['member', 'type'],
    'clients that select the interface may receive a type they do not handle',
  ),
  [D.ARG_DEFAULT_VALUE_CHANGE]: reader(
    'N\\.N arg N (?:has changed defaultValue|defaultValue was removed)',
    ['type', 'field', 'argument'],
    'operations that leave the argument out now run with another value',
  ),
  [D.OPTIONAL_INPUT_FIELD_ADDED]: reader(
    'An optional field N on input type N was added\\.',
    ['field', 'type'],
    'optional: values written without it validate and mean what they meant',
    'safe',
  ),
  [D.OPTIONAL_ARG_ADDED]: reader(
    'An optional arg N on N\\.N was added\\.',
    ['argument', 'type', 'field'],
    'optional: operations that leave it out validate and run as before',
    'safe',
  ),
};

/** The coordinate of a target. */
export function coordinateOf(target: ChangeTarget): string {
  if (target.directive !== undefined) return `@${target.directive}${target.argument ? `(${target.argument}:)` : ''}`;
  if (target.value !== undefined) return `${target.type}.${target.value}`;
  if (target.field === undefined) return target.type;
  return `${target.type}.${target.field}${target.argument ? `(${target.argument}:)` : ''}`;
}

const change = (severity: Severity, kind: string, target: ChangeTarget, message: string, why: string): SchemaChange => ({
  severity,
  kind,
  coordinate: coordinateOf(target),
  target,
  message: message.replace(/\.$/, ''),
  why,
});

/** graphql-js's breaking and dangerous changes, with coordinates. */
function graphqlJsChanges(before: GraphQLSchema, after: GraphQLSchema): SchemaChange[] {
  const found = [
    ...findBreakingChanges(before, after).map((c) => ({ ...c, severity: 'breaking' as const })),
    ...findDangerousChanges(before, after).map((c) => ({ ...c, severity: 'dangerous' as const })),
  ];
  return found.map(({ type, description, severity }) => {
    const read = READERS[type];
    const match = read?.pattern.exec(description);
    // A description this graphql-js words otherwise still shows, with the whole description as its coordinate.
    if (!read || !match) return change(severity, type, { type: description }, description, 'as graphql-js classifies it');
    const target: ChangeTarget = { type: '' };
    read.parts.forEach((part, i) => {
      if (part) target[part] = match[i + 1]!;
    });
    return change(read.severity ?? severity, type, target, description, read.why);
  });
}

/** The safe changes graphql-js does not report; `reported`: the coordinates it did report. */
function safeChanges(before: GraphQLSchema, after: GraphQLSchema, reported: Set<string>): SchemaChange[] {
  const changes: SchemaChange[] = [];
  const add = (kind: keyof typeof SAFE_CHANGES, target: ChangeTarget, message: string) =>
    changes.push(change('safe', kind, target, message, SAFE_CHANGES[kind]));
  const compare = (
    target: ChangeTarget,
    old: { description?: string | null | undefined; deprecationReason?: string | null | undefined },
    now: typeof old,
  ) => {
    const coordinate = coordinateOf(target);
    if ((old.deprecationReason ?? null) !== (now.deprecationReason ?? null)) {
      if ((now.deprecationReason ?? null) !== null)
        add('DEPRECATION_ADDED', target, `${coordinate} was deprecated: ${now.deprecationReason}`);
      else add('DEPRECATION_REMOVED', target, `${coordinate} is no longer deprecated`);
    }
    if ((old.description ?? '') !== (now.description ?? '')) add('DESCRIPTION_CHANGED', target, `${coordinate} has a new description`);
  };
  const retyped = (kind: 'OUTPUT_TYPE_NARROWED' | 'INPUT_TYPE_WIDENED', target: ChangeTarget, old: unknown, now: unknown) => {
    const coordinate = coordinateOf(target);
    if (String(old) !== String(now) && !reported.has(coordinate))
      add(kind, target, `${coordinate} changed type from ${String(old)} to ${String(now)}`);
  };

  for (const type of Object.values(after.getTypeMap()).sort(byName)) {
    if (isIntrospectionType(type)) continue;
    const old = before.getType(type.name);
    if (!old) {
      add('TYPE_ADDED', { type: type.name }, `${type.name} was added`);
      continue;
    }
    if (old.constructor !== type.constructor) continue; // TYPE_CHANGED_KIND: graphql-js's
    compare({ type: type.name }, old, type);
    if ((isObjectType(type) || isInterfaceType(type)) && (isObjectType(old) || isInterfaceType(old))) {
      const oldFields = old.getFields();
      for (const field of Object.values(type.getFields())) {
        const was = oldFields[field.name];
        const target = { type: type.name, field: field.name };
        if (!was) {
          add('FIELD_ADDED', target, `${type.name}.${field.name} was added`);
          continue;
        }
        retyped('OUTPUT_TYPE_NARROWED', target, was.type, field.type);
        compare(target, was, field);
        for (const arg of field.args) {
          const wasArg = was.args.find((a) => a.name === arg.name);
          if (!wasArg) continue; // an added argument: graphql-js's
          retyped('INPUT_TYPE_WIDENED', { ...target, argument: arg.name }, wasArg.type, arg.type);
          compare({ ...target, argument: arg.name }, wasArg, arg);
        }
      }
    } else if (isInputObjectType(type) && isInputObjectType(old)) {
      const oldFields = old.getFields();
      for (const field of Object.values(type.getFields())) {
        const was = oldFields[field.name];
        if (!was) continue; // an added input field: graphql-js's
        retyped('INPUT_TYPE_WIDENED', { type: type.name, field: field.name }, was.type, field.type);
        compare({ type: type.name, field: field.name }, was, field);
      }
    } else if (isEnumType(type) && isEnumType(old)) {
      for (const value of type.getValues()) {
        const was = old.getValue(value.name);
        if (was) compare({ type: type.name, value: value.name }, was, value);
      }
    }
  }
  for (const directive of after.getDirectives()) {
    if (!before.getDirective(directive.name))
      add('DIRECTIVE_ADDED', { type: '', directive: directive.name }, `@${directive.name} was added`);
  }
  return changes;
}

const byName = (a: GraphQLNamedType, b: GraphQLNamedType) => a.name.localeCompare(b.name);
const SEVERITY_ORDER: Record<Severity, number> = { breaking: 0, dangerous: 1, safe: 2 };

/** Every change from `before` to `after`: breaking first, then dangerous, then safe, each by coordinate. */
export function schemaChanges(before: GraphQLSchema, after: GraphQLSchema): SchemaChange[] {
  const reported = graphqlJsChanges(before, after);
  const all = [...reported, ...safeChanges(before, after, new Set(reported.map((c) => c.coordinate)))];
  return all.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.coordinate.localeCompare(b.coordinate));
}
