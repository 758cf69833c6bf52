/**
 * The benchmark's load: order events published straight to Kafka with kafkajs, paced to a rate.
 * The events follow orders' life cycles (placed, then paid and shipped, or cancelled) over the
 * seed data's customers c1..c1000 and products p1..p500, with the same deterministic event ids the
 * fulfillment service would use. Each event's `occurredAt` is the moment it is handed to Kafka:
 * the client computes delivery latency as (receipt time - occurredAt).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { customerCount, productCount, seededRandom } from '../../services/seed.ts';
import { ORDERS_TOPIC, encodeOrderEvent, orderEvent, type OrderEvent } from '../../services/events/orders.ts';

/** Orders that are placed but not finished yet, kept around to be paid, shipped or cancelled. */
const OPEN_ORDERS_TARGET = 300;
const TICK_MS = 5;

interface OpenOrder {
  id: string;
  stage: 'placed' | 'paid';
  totalCents: number;
}

/** An endless, deterministic stream of life-cycle events. */
export class OrderEventSource {
  private readonly random: () => number;
  private readonly open: OpenOrder[] = [];
  private placed = 0;

  private readonly prefix: string;

  constructor(seed: number, prefix: string) {
    this.prefix = prefix;
    this.random = seededRandom(seed);
  }

  /** The next event, with `occurredAt` = now. */
  next(): OrderEvent {
    const r = this.random;
    if (this.open.length < OPEN_ORDERS_TARGET / 2 || (this.open.length < OPEN_ORDERS_TARGET && r() < 0.4)) {
      const id = `${this.prefix}-${++this.placed}`;
      const lines = Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({
        productId: `p${1 + Math.floor(r() * productCount)}`,
        quantity: 1 + Math.floor(r() * 4),
        unitPriceCents: 100 + Math.floor(r() * 5000),
      }));
      const totalCents = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      this.open.push({ id, stage: 'placed', totalCents });
      return orderEvent('OrderPlaced', id, { customerId: `c${1 + Math.floor(r() * customerCount)}`, lines }, `${id}:placed`);
    }
    const index = Math.floor(r() * this.open.length);
    const order = this.open[index]!;
    if (order.stage === 'paid') {
      this.open.splice(index, 1);
      return orderEvent('OrderShipped', order.id, { carrier: 'Bench Post', trackingNumber: `BP${this.placed}` }, `${order.id}:shipped`);
    }
    if (r() < 0.15) {
      this.open.splice(index, 1);
      return orderEvent('OrderCancelled', order.id, { reason: 'changed mind' }, `${order.id}:cancelled`);
    }
    order.stage = 'paid';
    return orderEvent('OrderPaid', order.id, { amountCents: order.totalCents }, `${order.id}:paid`);
  }
}

export interface ProduceRun {
  /** Events per second. */
  rate: number;
  seconds: number;
  /** Told of every event published (for the expected deliveries). */
  onEvent?: (event: OrderEvent) => void;
}

export class PacedProducer {
  private readonly producer: Producer;
  private readonly source: OrderEventSource;

  private constructor(producer: Producer, source: OrderEventSource) {
    this.producer = producer;
    this.source = source;
  }

  static async connect(brokers: string[], source: OrderEventSource): Promise<PacedProducer> {
    const kafka = new Kafka({ clientId: 'bench-producer', brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    return new PacedProducer(producer, source);
  }

  /**
   * Publishes rate x seconds events, spread evenly: every few ms it sends what is due by then in
   * one batch. Stops at the count, or 5 s past the planned end if Kafka is slower than the rate.
   */
  async run({ rate, seconds, onEvent }: ProduceRun): Promise<{ produced: number; seconds: number }> {
    const total = Math.round(rate * seconds);
    const started = performance.now();
    const deadline = started + seconds * 1000 + 5_000;
    let sent = 0;
    while (sent < total && performance.now() < deadline) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      if (due > sent) {
        const events = Array.from({ length: due - sent }, () => this.source.next());
        await this.producer.send({ topic: ORDERS_TOPIC, acks: 1, messages: events.map(encodeOrderEvent) });
        for (const event of events) onEvent?.(event);
        sent = due;
      }
      await sleep(TICK_MS);
    }
    return { produced: sent, seconds: (performance.now() - started) / 1000 };
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}
