/**
 * From what a contract reader found (object and enum types, and its read operations described by
 * their shape) to the model: which objects are entities and how each is read, the one-to-many
 * relations, the stubs of other subgraphs' entities, and the `<x>Id` fields that become references.
 * Both readers end here, so REST and gRPC contracts map by the same rules.
 */
import {
  ContractError,
  camelCase,
  entityOfId,
  entityOfIds,
  plural,
  type EntityModel,
  type EnumModel,
  type ObjectModel,
  type Read,
  type RelationModel,
  type SubgraphModel,
} from './model.ts';

/** One read operation as a reader classified it. */
export interface OperationShape {
  read: Read;
  /** The object type it answers with (one of them, or a list). */
  result: string;
  many: boolean;
  /** One: takes the result's id (`read.input`). Many: takes a list of the result's ids. */
  byKey: boolean;
  /** Many: callable with no id (optionally a page size): a list read. */
  listable: boolean;
  /** Many: inputs naming another entity's id (`productId`): one relation each. */
  owners: { entity: string; input: NonNullable<Read['input']> }[];
  /** The field a relation gets on its owner (`reviews`); default: the result's name in the plural. */
  relationField?: string | undefined;
}

export interface ReaderOutput {
  base: Pick<SubgraphModel, 'name' | 'kind' | 'contract' | 'service' | 'serverUrl'>;
  objects: ObjectModel[];
  enums: EnumModel[];
  operations: OperationShape[];
  skipped: string[];
}

const isKeyable = (object: ObjectModel) =>
  object.fields.some((f) => f.name === 'id' && f.type.name === 'ID' && f.type.kind === 'scalar' && !f.type.list);

export function assemble(where: string, { base, objects, enums, operations, skipped }: ReaderOutput): SubgraphModel {
  const objectsByName = new Map(objects.map((o) => [o.name, o]));
  const entities = new Map<string, EntityModel>();
  const entity = (name: string) => {
    let found = entities.get(name);
    if (!found) {
      const lower = camelCase(name);
      found = { name, rootOne: lower, rootList: plural(lower) };
      entities.set(name, found);
    }
    return found;
  };
  const lists: SubgraphModel['lists'] = [];
  const relations: RelationModel[] = [];
  const notes = [...skipped];

  for (const op of operations) {
    const result = objectsByName.get(op.result)!;
    const keyable = isKeyable(result);
    if (!op.many) {
      if (op.byKey && keyable) entity(op.result).byId ??= op.read;
      else notes.push(`${op.read.label}: answers one ${op.result} not by its id field 'id'`);
      continue;
    }
    if (op.byKey && keyable) entity(op.result).batch ??= op.read;
    if (op.listable && !op.byKey) {
      if (keyable) entity(op.result).list ??= op.read;
      else if (!lists.some((l) => l.name === op.result))
        lists.push({ name: op.result, rootList: plural(camelCase(op.result)), read: op.read });
    }
    for (const owner of op.owners) {
      if (owner.entity === op.result) continue;
      const local = objectsByName.get(owner.entity);
      if (local && !isKeyable(local)) {
        notes.push(`${op.read.label}: ${owner.entity} has no id field 'id' to relate ${op.result} by`);
        continue;
      }
      const field = op.relationField ?? plural(camelCase(op.result));
      if (relations.some((r) => r.owner === owner.entity && r.field === field)) continue;
      if (local?.fields.some((f) => f.name === field)) {
        notes.push(`${op.read.label}: ${owner.entity} has a field '${field}' of its own`);
        continue;
      }
      relations.push({ owner: owner.entity, field, entity: op.result, read: { ...op.read, input: owner.input } });
    }
  }

  // An object with an id but no read by id is not an entity: no subgraph could resolve a reference to it.
  for (const [name, e] of entities) {
    if (e.byId || e.batch) continue;
    entities.delete(name);
    if (e.list) lists.push({ name, rootList: e.rootList, read: e.list });
  }
  const stubs = [...new Set(relations.map((r) => r.owner))].filter((name) => !objectsByName.has(name)).sort();
  const referable = new Set([...entities.keys(), ...stubs]);
  for (const object of objects) {
    for (const field of object.fields) {
      if (field.type.name !== 'ID' || field.name === 'id') continue;
      const target = field.type.list ? entityOfIds(field.name) : entityOfId(field.name);
      if (!target || !referable.has(target)) continue;
      const name = field.type.list ? plural(camelCase(target)) : camelCase(target);
      if (object.fields.some((f) => f.name === name) || relations.some((r) => r.owner === object.name && r.field === name)) continue;
      object.references.push({ field: name, idField: field.name, entity: target, list: field.type.list, nullable: field.type.nullable });
    }
  }
  for (const e of entities.values()) {
    const id = objectsByName.get(e.name)!.fields.find((f) => f.name === 'id')!;
    id.type = { ...id.type, nullable: false };
  }

  const model: SubgraphModel = {
    ...base,
    objects,
    enums,
    entities: [...entities.values()],
    lists,
    relations,
    stubs,
    skipped: notes,
  };
  if (model.entities.length === 0 && model.lists.length === 0 && model.relations.length === 0) {
    throw new ContractError(
      where,
      `no read operation it can map (a read by id, a batch read, a list, or a list by another entity's id)${notes.length > 0 ? `; left out: ${notes.join('; ')}` : ''}`,
    );
  }
  return reachable(model);
}

/** Leaves out the objects and enums no root field, entity or relation reaches. */
function reachable(model: SubgraphModel): SubgraphModel {
  const objects = new Map(model.objects.map((o) => [o.name, o]));
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const field of objects.get(name)?.fields ?? []) if (field.type.kind !== 'scalar') visit(field.type.name);
  };
  for (const name of [...model.entities.map((e) => e.name), ...model.lists.map((l) => l.name), ...model.relations.map((r) => r.entity)]) {
    visit(name);
  }
  for (const relation of model.relations) if (objects.has(relation.owner)) visit(relation.owner);
  return {
    ...model,
    objects: model.objects.filter((o) => seen.has(o.name)),
    enums: model.enums.filter((e) => seen.has(e.name)),
  };
}
