/**
 * The chaos run's commands: `placeOrder` through the gateway at a steady rate, each with its own
 * idempotency key, retried with the same key (and the same input) after an error or a timeout,
 * as a client is told it safely may. Whether the schema has `PlaceOrderInput.idempotencyKey` is
 * read by introspection; without it the retries go out without a key, and the report says
 * idempotency is unsupported.
 */
import { commandSignature } from './model.ts';
import type { CommandOutcome } from './expect.ts';

export interface CommandsOptions {
  /** http://host:port/graphql of the gateway. */
  url: string;
  /** Who the commands are sent as: an `Authorization` header that may place orders for every customer. */
  headers: Record<string, string>;
  /** Commands started per second. */
  rate: number;
  /** Makes the keys unique to this run. */
  runId: string;
  /** Customers and (in-stock) products the inputs are made of; each command's input is unique. */
  customers: readonly string[];
  products: readonly string[];
  /** Deadline of one attempt, in ms. @default 10000 */
  attemptTimeoutMs?: number;
  /** Attempts per command before it is given up. @default 8 */
  maxAttempts?: number;
}

export type Idempotency = 'supported' | 'unsupported' | 'unknown';

/** Error codes that say the input is wrong: retrying cannot help. */
const FINAL_CODES = new Set(['BAD_USER_INPUT', 'INSUFFICIENT_STOCK', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'NOT_FOUND']);

const PLACE_ORDER = 'mutation ChaosPlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }';
const INPUT_FIELDS = '{ __type(name: "PlaceOrderInput") { inputFields { name } } }';

interface Response {
  data?: { placeOrder?: { id: string } | null; __type?: { inputFields: { name: string }[] } | null } | null;
  errors?: { extensions?: { code?: string } }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class CommandRunner {
  idempotency: Idempotency = 'unknown';
  readonly outcomes: CommandOutcome[] = [];
  /** Failed attempts by error code (`NETWORK`, `TIMEOUT`, `HTTP_<status>` or the GraphQL code). */
  readonly errors = new Map<string, number>();

  private readonly options: CommandsOptions;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private stopping = false;

  constructor(options: CommandsOptions) {
    this.options = options;
  }

  /** Reads whether PlaceOrderInput has `idempotencyKey`; tries for up to `timeoutMs`. */
  async detect(timeoutMs = 30_000): Promise<Idempotency> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.abort.signal.aborted) {
      const { body } = await this.post(INPUT_FIELDS, {});
      const fields = body?.data?.__type?.inputFields;
      if (fields) return (this.idempotency = fields.some((f) => f.name === 'idempotencyKey') ? 'supported' : 'unsupported');
      await sleep(500);
    }
    return this.idempotency;
  }

  start(): void {
    let k = 0;
    this.timer = setInterval(() => {
      const command = this.run(k++);
      this.inFlight.add(command);
      void command.finally(() => this.inFlight.delete(command));
    }, 1000 / this.options.rate);
  }

  /** Starts no more commands; waits up to `graceMs` for those in flight, then abandons them. */
  async stop(graceMs: number): Promise<void> {
    clearInterval(this.timer);
    this.stopping = true;
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(graceMs)]);
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private async run(k: number): Promise<void> {
    const { customers, products, runId } = this.options;
    const customerId = customers[k % customers.length]!;
    const lines = [{ productId: products[k % products.length]!, quantity: 1 + Math.floor(k / products.length) }];
    const key = `${runId}-${k}`;
    const outcome: CommandOutcome = { key, signature: commandSignature(customerId, lines), attempts: 0 };
    this.outcomes.push(outcome);
    const input = { customerId, lines, ...(this.idempotency === 'supported' && { idempotencyKey: key }) };
    const maxAttempts = this.options.maxAttempts ?? 8;
    for (let attempt = 1; attempt <= maxAttempts && !this.abort.signal.aborted; attempt++) {
      outcome.attempts = attempt;
      const { body, failure } = await this.post(PLACE_ORDER, { input });
      const id = body?.data?.placeOrder?.id;
      if (id && !body?.errors?.length) {
        outcome.acknowledged = id;
        return;
      }
      const code = failure ?? body?.errors?.[0]?.extensions?.code ?? 'NO_DATA';
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
      if (FINAL_CODES.has(code)) return;
      // Retrying what is in flight when the run stops is still owed: keep going until aborted.
      await sleep(Math.min(4_000, 500 * 2 ** (attempt - 1)) * (this.stopping ? 0.5 : 1));
    }
  }

  private async post(query: string, variables: Record<string, unknown>): Promise<{ body?: Response; failure?: string }> {
    const timeout = AbortSignal.timeout(this.options.attemptTimeoutMs ?? 10_000);
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          ...this.options.headers,
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.any([timeout, this.abort.signal]),
      });
      const text = await response.text();
      try {
        return { body: JSON.parse(text) as Response };
      } catch {
        return { failure: `HTTP_${response.status}` };
      }
    } catch {
      return { failure: timeout.aborted ? 'TIMEOUT' : 'NETWORK' };
    }
  }
}
