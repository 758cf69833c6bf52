/**
 * The order events (schema/events/*.schema.json): their TypeScript shapes, and the one codec that
 * producers and the projection use. Producers validate before publishing; readers validate every
 * record and reject what does not fit with a reason (the projection dead-letters it). Readers are
 * tolerant: properties they do not know are ignored.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { OutgoingRecord } from '../../lib/eventlog/types.ts';

export const ORDERS_TOPIC = 'orders.events';
export const ORDERS_DEAD_LETTER_TOPIC = 'orders.events.dlq';

export interface OrderLineData {
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

export interface OrderEventData {
  OrderPlaced: { customerId: string; lines: OrderLineData[] };
  OrderPaid: { amountCents: number };
  OrderShipped: { carrier: string; trackingNumber?: string };
  OrderCancelled: { reason?: string };
}

export type OrderEventType = keyof OrderEventData;

export type OrderEvent = {
  [T in OrderEventType]: {
    id: string;
    type: T;
    version: 1;
    occurredAt: string;
    orderId: string;
    data: OrderEventData[T];
  };
}[OrderEventType];

export type OrderEventOf<T extends OrderEventType> = Extract<OrderEvent, { type: T }>;

const schemaDir = resolve(import.meta.dirname, '../../schema/events');
const schemaFiles: Record<OrderEventType, string> = {
  OrderPlaced: 'order-placed.v1.schema.json',
  OrderPaid: 'order-paid.v1.schema.json',
  OrderShipped: 'order-shipped.v1.schema.json',
  OrderCancelled: 'order-cancelled.v1.schema.json',
};

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats.default(ajv);
const load = (file: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(resolve(schemaDir, file), 'utf8')) as object);
const validateEnvelope = load('envelope.v1.schema.json');
const validateData = Object.fromEntries(Object.entries(schemaFiles).map(([type, file]) => [type, load(file)])) as Record<
  OrderEventType,
  ValidateFunction
>;

const describeErrors = (validate: ValidateFunction, where: string) =>
  (validate.errors ?? []).map((e) => `${where}${e.instancePath || ''} ${e.message ?? 'is invalid'}`).join('; ');

export type Decoded = { ok: true; event: OrderEvent } | { ok: false; reason: string };

/** Parses and validates one record's value. Never throws. */
export function decodeOrderEvent(value: string): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (!validateEnvelope(parsed)) return { ok: false, reason: `invalid envelope: ${describeErrors(validateEnvelope, 'event')}` };
  const event = parsed as OrderEvent;
  if (event.version !== 1) return { ok: false, reason: `unsupported ${event.type} version ${String(event.version)}` };
  const validate = validateData[event.type];
  if (!validate(event.data)) return { ok: false, reason: `invalid ${event.type}: ${describeErrors(validate, 'data')}` };
  return { ok: true, event };
}

/** Builds a new event; `id` defaults to a random UUID (pass a deterministic one to make a producer idempotent). */
export function orderEvent<T extends OrderEventType>(
  type: T,
  orderId: string,
  data: OrderEventData[T],
  id: string = randomUUID(),
): OrderEventOf<T> {
  return { id, type, version: 1, occurredAt: new Date().toISOString(), orderId, data } as OrderEventOf<T>;
}

/** Validates and serialises an event as a record keyed by its order id. Throws on an invalid event. */
export function encodeOrderEvent(event: OrderEvent): OutgoingRecord {
  const value = JSON.stringify(event);
  const decoded = decodeOrderEvent(value);
  if (!decoded.ok) throw new Error(`refusing to publish an invalid event: ${decoded.reason}`);
  return { key: event.orderId, value, headers: { 'event-type': event.type, 'event-id': event.id } };
}
