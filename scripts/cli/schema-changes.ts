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
const NAME = String.raw`([_A-Za-z][_0-9A-Za-z]*)`;
const re = (pattern: string) => new RegExp(`^${pattern.replaceAll('N', NAME)}`);

/**
 * How each graphql-js change type is read: its description's pattern, the target it names, the
 * severity here (graphql-js's own unless said) and why.
 */
const READERS: Record<string, { pattern: RegExp; target: (m: string[]) => ChangeTarget; why: string; severity?: Severity }> = {
  [B.TYPE_REMOVED]: {
    pattern: re('(?:Standard scalar )?N was removed'),
    target: ([, type]) => ({ type: type! }),
    why: 'operations that select its fields, spread fragments on it or declare variables of it fail validation',
  },
  [B.TYPE_CHANGED_KIND]: {
    pattern: re('N changed from'),
    target: ([, type]) => ({ type: type! }),
    why: 'selections and values written for the old kind fail validation',
  },
  [B.TYPE_REMOVED_FROM_UNION]: {
    pattern: re('N was removed from union type N\\.'),
    target: ([, member, type]) => ({ type: type!, member: member! }),
    why: 'fragments on the member inside the union fail validation, and results no longer include it',
  },
  [B.VALUE_REMOVED_FROM_ENUM]: {
    pattern: re('N was removed from enum type N\\.'),
    target: ([, value, type]) => ({ type: type!, value: value! }),
    why: 'operations that pass the value fail validation, and clients may still expect it',
  },
  [B.REQUIRED_INPUT_FIELD_ADDED]: {
    pattern: re('A required field N on input type N was added\\.'),
    target: ([, field, type]) => ({ type: type!, field: field! }),
    why: 'values of the input type written without the new field fail validation',
  },
  [B.IMPLEMENTED_INTERFACE_REMOVED]: {
    pattern: re('N no longer implements interface N\\.'),
    target: ([, type, member]) => ({ type: type!, member: member! }),
    why: 'fragments on the type inside the interface fail validation, and results through the interface no longer include it',
  },
  [B.FIELD_REMOVED]: {
    pattern: re('N\\.N was removed\\.'),
    target: ([, type, field]) => ({ type: type!, field: field! }),
    why: 'operations that use it fail validation',
  },
  [B.FIELD_CHANGED_KIND]: {
    pattern: re('N\\.N changed type from'),
    target: ([, type, field]) => ({ type: type!, field: field! }),
    why: 'the new type does not fit the old: operations written for it fail validation or get values they do not expect',
  },
  [B.REQUIRED_ARG_ADDED]: {
    pattern: re('A required arg N on N\\.N was added\\.'),
    target: ([, argument, type, field]) => ({ type: type!, field: field!, argument: argument! }),
    why: 'operations that select the field without the new argument fail validation',
  },
  [B.ARG_REMOVED]: {
    pattern: re('N\\.N arg N was removed\\.'),
    target: ([, type, field, argument]) => ({ type: type!, field: field!, argument: argument! }),
    why: 'operations that pass it fail validation',
  },
  [B.ARG_CHANGED_KIND]: {
    pattern: re('N\\.N arg N has changed type from'),
    target: ([, type, field, argument]) => ({ type: type!, field: field!, argument: argument! }),
    why: 'values passed for the old type may fail validation',
  },
  [B.DIRECTIVE_REMOVED]: {
    pattern: re('N was removed\\.'),
    target: ([, directive]) => ({ type: '', directive: directive! }),
    why: 'operations that use it fail validation',
  },
  [B.DIRECTIVE_ARG_REMOVED]: {
    pattern: re('N was removed from N\\.'),
    target: ([, argument, directive]) => ({ type: '', directive: directive!, argument: argument! }),
    why: 'operations that pass it fail validation',
  },
  [B.REQUIRED_DIRECTIVE_ARG_ADDED]: {
    pattern: re('A required arg N on directive N was added\\.'),
    target: ([, argument, directive]) => ({ type: '', directive: directive!, argument: argument! }),
    why: 'operations that use the directive without the new argument fail validation',
  },
  [B.DIRECTIVE_REPEATABLE_REMOVED]: {
    pattern: re('Repeatable flag was removed from N\\.'),
    target: ([, directive]) => ({ type: '', directive: directive! }),
    why: 'operations that repeat it fail validation',
  },
  [B.DIRECTIVE_LOCATION_REMOVED]: {
    pattern: re('N was removed from N\\.'),
    target: ([, , directive]) => ({ type: '', directive: directive! }),
    why: 'operations that use it there fail validation',
  },
  [D.VALUE_ADDED_TO_ENUM]: {
    pattern: re('N was added to enum type N\\.'),
    target: ([, value, type]) => ({ type: type!, value: value! }),
    why: 'clients may receive a value they do not know',
  },
  [D.TYPE_ADDED_TO_UNION]: {
    pattern: re('N was added to union type N\\.'),
    target: ([, member, type]) => ({ type: type!, member: member! }),
    why: 'clients may receive a member they do not handle',
  },
  [D.IMPLEMENTED_INTERFACE_ADDED]: {
    pattern: re('N added to interfaces implemented by N\\.'),
    target: ([, member, type]) => ({ type: type!, member: member! }),
    why: 'clients that select the interface may receive a type they do not handle',
  },
  [D.ARG_DEFAULT_VALUE_CHANGE]: {
    pattern: re('N\\.N arg N (?:has changed defaultValue|defaultValue was removed)'),
    target: ([, type, field, argument]) => ({ type: type!, field: field!, argument: argument! }),
    why: 'operations that leave the argument out now run with another value',
  },
  [D.OPTIONAL_INPUT_FIELD_ADDED]: {
    pattern: re('An optional field N on input type N was added\\.'),
    target: ([, field, type]) => ({ type: type!, field: field! }),
    why: 'optional: values written without it validate and mean what they meant',
    severity: 'safe',
  },
  [D.OPTIONAL_ARG_ADDED]: {
    pattern: re('An optional arg N on N\\.N was added\\.'),
    target: ([, argument, type, field]) => ({ type: type!, field: field!, argument: argument! }),
    why: 'optional: operations that leave it out validate and run as before',
    severity: 'safe',
  },
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
    const reader = READERS[type];
    const match = reader?.pattern.exec(description);
    // A description this graphql-js words otherwise still shows, with the whole description as its coordinate.
    if (!reader || !match) return change(severity, type, { type: description }, description, 'as graphql-js classifies it');
    return change(reader.severity ?? severity, type, reader.target([...match]), description, reader.why);
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
