/**
 * What each subscriber and each command should have seen, from the reference model's applied
 * events, and how what they saw differs from it.
 *
 * A subscriber subscribed before anything was produced and always resumed from the last position
 * it was given, so it is owed every applied event that matches its filter, exactly once, each
 * order's in increasing versions. One exception: a subscriber that had no position when it had to
 * subscribe again started live, so the events it had not been given below the topic's end offsets
 * read right after it subscribed again (`excuseBelow`) are excused, and counted as such.
 */
import type { EventType } from './contract.ts';
import type { AppliedEvent, PlacedOrder } from './model.ts';

export interface Filter {
  customerId?: string | undefined;
  types?: readonly EventType[] | undefined;
}

/** One event result a subscriber received. */
export interface Delivery {
  orderId: string;
  version: number;
  type: EventType;
  /** Which of the subscriber's subscriptions (1 = the first, then each resume) received it. */
  subscription?: number | undefined;
}

export interface SubscriberOutcome {
  filter: Filter;
  deliveries: readonly Delivery[];
  /** Per partition: undelivered events below these offsets are excused (see the file header). */
  excuseBelow?: readonly number[] | undefined;
}

export interface DeliveryDiff {
  /** Applied events matching the filter. */
  expected: number;
  /** Event results received, duplicates included. */
  delivered: number;
  /** Results for an event already received. */
  duplicated: number;
  /** Expected events never received (and not excused). */
  missing: number;
  excused: number;
  /** Results (not duplicates) whose version is below one already received for that order. */
  outOfOrder: number;
  /** Results for no applied matching event (or with another type than the applied one). */
  unexpected: number;
  /** A few of the missing events, `orderId#version`, for the report. */
  missingSample: string[];
  /** A few of the duplicated ones, `orderId#version` and the subscriptions that received it (`@1,2`). */
  duplicateSample: string[];
}

export const matches = (filter: Filter, event: AppliedEvent): boolean =>
  (filter.customerId === undefined || filter.customerId === event.customerId) &&
  (filter.types === undefined || filter.types.includes(event.type));

const keyOf = (e: { orderId: string; version: number }) => `${e.orderId}#${e.version}`;

export function diffDeliveries(applied: readonly AppliedEvent[], outcome: SubscriberOutcome): DeliveryDiff {
  const expected = new Map(applied.filter((e) => matches(outcome.filter, e)).map((e) => [keyOf(e), e]));
  const newest = new Map<string, number>();
  const diff: DeliveryDiff = {
    expected: expected.size,
    delivered: outcome.deliveries.length,
    duplicated: 0,
    missing: 0,
    excused: 0,
    outOfOrder: 0,
    unexpected: 0,
    missingSample: [],
    duplicateSample: [],
  };
  const seen = new Map<string, number | undefined>();
  for (const delivery of outcome.deliveries) {
    const key = keyOf(delivery);
    if (seen.has(key)) {
      diff.duplicated++;
      if (diff.duplicateSample.length < 5) diff.duplicateSample.push(`${key}@${seen.get(key) ?? '?'},${delivery.subscription ?? '?'}`);
      continue;
    }
    seen.set(key, delivery.subscription);
    if (expected.get(key)?.type !== delivery.type) diff.unexpected++;
    if (delivery.version < (newest.get(delivery.orderId) ?? 0)) diff.outOfOrder++;
    newest.set(delivery.orderId, Math.max(delivery.version, newest.get(delivery.orderId) ?? 0));
  }
  for (const [key, event] of expected) {
    if (seen.has(key)) continue;
    if (event.offset < (outcome.excuseBelow?.[event.partition] ?? 0)) diff.excused++;
    else {
      diff.missing++;
      if (diff.missingSample.length < 5) diff.missingSample.push(key);
    }
  }
  return diff;
}

/** One placeOrder command: one idempotency key, retried until acknowledged or given up. */
export interface CommandOutcome {
  key: string;
  /** `commandSignature` of its input: unique per command in a run. */
  signature: string;
  attempts: number;
  /** The order id the client was given, when an attempt succeeded. */
  acknowledged?: string | undefined;
}

export interface CommandDiff {
  commands: number;
  attempts: number;
  acknowledged: number;
  /** Commands given up: every attempt failed. */
  failed: number;
  /** Distinct orders placed for the run's commands (OrderPlaced applied). */
  ordersPlaced: number;
  /** Orders beyond the first for one command (key). */
  duplicateOrders: number;
  /** Commands with more than one order. */
  keysWithDuplicates: number;
  /** Acknowledged commands whose order is not among the applied ones. */
  acknowledgedNotPlaced: number;
}

export function diffCommands(placed: readonly PlacedOrder[], commands: readonly CommandOutcome[]): CommandDiff {
  const ordersBySignature = new Map<string, Set<string>>();
  for (const { orderId, signature } of placed)
    ordersBySignature.set(signature, (ordersBySignature.get(signature) ?? new Set()).add(orderId));
  const diff: CommandDiff = {
    commands: commands.length,
    attempts: 0,
    acknowledged: 0,
    failed: 0,
    ordersPlaced: 0,
    duplicateOrders: 0,
    keysWithDuplicates: 0,
    acknowledgedNotPlaced: 0,
  };
  for (const command of commands) {
    const orders = ordersBySignature.get(command.signature) ?? new Set<string>();
    diff.attempts += command.attempts;
    diff.ordersPlaced += orders.size;
    diff.duplicateOrders += Math.max(0, orders.size - 1);
    if (orders.size > 1) diff.keysWithDuplicates++;
    if (command.acknowledged === undefined) diff.failed++;
    else {
      diff.acknowledged++;
      if (!orders.has(command.acknowledged)) diff.acknowledgedNotPlaced++;
    }
  }
  return diff;
}
