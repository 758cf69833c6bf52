/**
 * Reads one record of `orders.events` against the event contract itself (schema/events/*.schema.json),
 * with no product code in between: the chaos run's truth must not share the bugs it looks for.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export const EVENT_TYPES = ['OrderPlaced', 'OrderPaid', 'OrderShipped', 'OrderCancelled'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An event as the contract describes it; `data` only as far as the model needs it. */
export interface ContractEvent {
  id: string;
  type: EventType;
  orderId: string;
  data: { customerId?: string; lines?: { productId: string; quantity: number }[] };
}

export type Reading = { ok: true; event: ContractEvent } | { ok: false; reason: string };

const schemaDir = resolve(import.meta.dirname, '../../schema/events');
const dataSchema: Record<EventType, string> = {
  OrderPlaced: 'order-placed.v1.schema.json',
  OrderPaid: 'order-paid.v1.schema.json',
  OrderShipped: 'order-shipped.v1.schema.json',
  OrderCancelled: 'order-cancelled.v1.schema.json',
};

const ajv = new Ajv({ strict: false });
addFormats.default(ajv);
const compile = (file: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(resolve(schemaDir, file), 'utf8')) as object);
const envelope = compile('envelope.v1.schema.json');
const data = Object.fromEntries(EVENT_TYPES.map((type) => [type, compile(dataSchema[type])])) as Record<EventType, ValidateFunction>;

/** Parses and validates a record's value (version 1 only, as every reader of the topic). Never throws. */
export function readEvent(value: string | null): Reading {
  if (value === null) return { ok: false, reason: 'no value' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!envelope(parsed)) return { ok: false, reason: 'invalid envelope' };
  const event = parsed as ContractEvent & { version: number };
  if (event.version !== 1) return { ok: false, reason: `unsupported version ${event.version}` };
  if (!data[event.type](event.data)) return { ok: false, reason: `invalid ${event.type} data` };
  return { ok: true, event };
}
