/**
 * Order and event ids. Ids that follow from what a command is about make a command safe to retry:
 * a retry publishes the event the first attempt did (or would have), and the projection applies an
 * event id once per order (projection.ts), however often it was published.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { OrderEventType } from '../../services/events/orders.ts';

/** Longest idempotency key accepted, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

/**
 * The order a customer's idempotency key stands for (always the same one); a random new one without
 * a key. Keys are per customer: another customer's same key string stands for another order.
 */
export function orderIdFor(customerId: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return `o-${randomUUID()}`;
  // JSON keeps the two strings apart: ("a/b", "c") and ("a", "b/c") name different orders.
  return `o-${uuidFrom(`interchange/order/${JSON.stringify([customerId, idempotencyKey])}`)}`;
}

/**
 * The id of an order's event of this type. An order is placed once and cancelled at most once, so
 * (order, type) names the event; a repeated command publishes the same id.
 */
export function eventIdFor(orderId: string, type: Extract<OrderEventType, 'OrderPlaced' | 'OrderCancelled'>): string {
  return uuidFrom(`interchange/event/${orderId}/${type}`);
}

/** A name-based UUID (version 5 layout, SHA-256 instead of SHA-1). */
function uuidFrom(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
