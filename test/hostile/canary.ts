/**
 * The ordinary clients that must not notice the hostile ones: a query client (one small federated
 * query about every 100 ms) and a subscriber to every order event (fed by a producer that places an
 * order about every 100 ms, which the fulfillment service then pays and ships: a few events every
 * 100 ms, so a normal gap sits far below the 1 s a stall is measured against). Each records its
 * failures and its longest stall: the longest time without an answer (query client) or without an
 * event (subscriber), measured while it runs.
 */
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { generateProducts } from '../../services/catalog/data.ts';

export interface CanaryReport {
  name: string;
  /** Answers (query client) or events (subscriber) seen. */
  count: number;
  failures: string[];
  /** Longest time without an answer / event, in ms. */
  longestGapMs: number;
  /** When that longest gap ended (epoch ms), to name the inputs in flight then. */
  longestGapEndedAt: number;
}

/** Authorization values for the canaries' own subjects; undefined where tokens cannot be minted yet. */
export interface CanaryTokens {
  query?: string | undefined;
  subscriber?: string | undefined;
  producer?: string | undefined;
}

const QUERY = '{ products(first: 2) { id name } customer(id: "c1") { name } }';
const EVENTS = 'subscription { orderEvents { cursor type order { id status } } }';
/** Time between two orders of the producer, in ms. */
const PRODUCER_PERIOD_MS = 100;
/** Products with stock for thousands of orders of one unit each (a run of ten minutes places about 6,000). */
const STOCKED = generateProducts()
  .filter((p) => p.stock >= 200)
  .slice(0, 60)
  .map((p) => p.id);

/** Records the longest interval between marks, from `start` until `stop`. */
class GapMeter {
  private last = 0;
  longest = 0;
  longestEndedAt = 0;
  count = 0;

  start(): void {
    this.last = performance.now();
  }

  mark(): void {
    const now = performance.now();
    if (now - this.last > this.longest) {
      this.longest = now - this.last;
      this.longestEndedAt = Date.now();
    }
    this.last = now;
    this.count++;
  }

  stop(): number {
    this.mark();
    this.count--;
    return Math.round(this.longest);
  }
}

const post = (graphqlUrl: string, query: string, authorization: string | undefined) =>
  fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(10_000),
  });

async function answerProblem(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
  if (response.status !== 200 || body.errors || !body.data)
    return `HTTP ${response.status}: ${body.errors?.map((e) => `${e.extensions?.code} ${e.message}`).join('; ') ?? 'no data'}`;
  return undefined;
}

export class Canaries {
  private running = true;
  private readonly query = { gaps: new GapMeter(), failures: [] as string[] };
  private readonly subscriber = { gaps: new GapMeter(), failures: [] as string[] };
  private readonly producer = { failures: [] as string[] };
  private readonly loops: Promise<void>[] = [];
  private socket: WebSocket | undefined;

  private readonly gatewayUrl: string;
  private readonly tokens: CanaryTokens;

  constructor(gatewayUrl: string, tokens: CanaryTokens) {
    this.gatewayUrl = gatewayUrl;
    this.tokens = tokens;
  }

  /** Starts both canaries; resolves once the subscriber has its first event (so the measured window starts with a live stream). */
  async start(): Promise<void> {
    this.loops.push(this.produce());
    await this.subscribe();
    this.query.gaps.start();
    this.loops.push(this.queryLoop());
  }

  /** Stops the canaries and reports what each saw. */
  async stop(): Promise<CanaryReport[]> {
    const report = (name: string, { gaps, failures }: { gaps: GapMeter; failures: string[] }): CanaryReport => {
      const longestGapMs = gaps.stop();
      return { name, count: gaps.count, failures, longestGapMs, longestGapEndedAt: gaps.longestEndedAt };
    };
    const reports: CanaryReport[] = [
      report('query client', this.query),
      report('subscriber', this.subscriber),
      { name: 'order producer', count: 0, failures: this.producer.failures, longestGapMs: 0, longestGapEndedAt: 0 },
    ];
    this.running = false;
    this.socket?.close(1000);
    await Promise.all(this.loops);
    this.socket?.terminate();
    return reports;
  }

  private async queryLoop(): Promise<void> {
    const url = `${this.gatewayUrl}/graphql`;
    while (this.running) {
      try {
        const problem = await answerProblem(await post(url, QUERY, this.tokens.query));
        if (problem) this.query.failures.push(problem);
        else this.query.gaps.mark();
      } catch (err) {
        this.query.failures.push(String(err));
      }
      await delay(100);
    }
  }

  private async produce(): Promise<void> {
    const url = `${this.gatewayUrl}/graphql`;
    for (let n = 0; this.running; n++) {
      const mutation = `mutation { placeOrder(input: { customerId: "c1", lines: [{ productId: "${STOCKED[n % STOCKED.length]}", quantity: 1 }] }) { id } }`;
      try {
        const problem = await answerProblem(await post(url, mutation, this.tokens.producer));
        if (problem) this.producer.failures.push(problem);
      } catch (err) {
        if (this.running) this.producer.failures.push(String(err));
      }
      await delay(PRODUCER_PERIOD_MS);
    }
  }

  private subscribe(): Promise<void> {
    const socket = new WebSocket(`${this.gatewayUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    this.socket = socket;
    const fail = (what: string) => this.running && this.subscriber.failures.push(what);
    socket.on('error', (err) => fail(`socket error: ${err.message}`));
    socket.on('close', (code, reason) => fail(`socket closed ${code} ${String(reason)}`));
    socket.on('open', () => {
      const payload = this.tokens.subscriber ? { headers: { authorization: this.tokens.subscriber } } : undefined;
      socket.send(JSON.stringify({ type: 'connection_init', ...(payload && { payload }) }));
    });
    return new Promise((resolve, reject) => {
      let live = false;
      const timer = setTimeout(
        () => reject(new Error(`the canary subscriber got no event within 60 s: ${this.subscriber.failures.join('; ')}`)),
        60_000,
      );
      socket.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as { type: string; payload?: { errors?: unknown[] } };
        if (message.type === 'connection_ack') socket.send(JSON.stringify({ id: 'canary', type: 'subscribe', payload: { query: EVENTS } }));
        else if (message.type === 'next' && !message.payload?.errors) {
          if (!live) {
            live = true;
            clearTimeout(timer);
            this.subscriber.gaps.start();
            resolve();
          }
          this.subscriber.gaps.mark();
        } else if (message.type !== 'pong' && message.type !== 'ping')
          fail(`${message.type}: ${JSON.stringify(message.payload).slice(0, 200)}`);
      });
    });
  }
}
