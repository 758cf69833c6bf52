/**
 * Hot reload of the gateway's supergraph. A change (the file changed, the URL's ETag moved, or
 * `POST /reload` on the ops listener) is read, checked and prepared in full before anything
 * changes; then it is swapped in at once. A supergraph that is not valid is refused with a log line
 * and a metric, and the one being served goes on. Reloads run one at a time.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../../lib/logger.ts';
import type { SupergraphOrigin } from './origin.ts';

/** What a reload did, as `POST /reload` answers it. */
export type ReloadResult =
  | { status: 'reloaded'; generation: number; hash: string; details: Record<string, unknown> }
  | { status: 'unchanged'; generation: number; hash: string }
  | { status: 'refused'; generation: number; hash: string; error: string };

/** The supergraph being served. */
export interface ServedSupergraph {
  generation: number;
  hash: string;
  loadedAt: Date;
}

/** Why a reload was asked for. */
export type ReloadTrigger = 'watch' | 'poll' | 'request';

export interface ReloaderOptions<S> {
  origin: SupergraphOrigin;
  /** The hash of the supergraph served at start. */
  initialHash: string;
  /** The hash a supergraph's text has (the one `prepare` gives it). */
  hashOf: (text: string) => string;
  /**
   * Reads and checks a supergraph's text, and prepares everything that serves it without changing
   * what is served: throws when it is not valid. The result's `hash` identifies it.
   */
  prepare: (text: string) => (S & { hash: string }) | Promise<S & { hash: string }>;
  /** Serves a prepared supergraph; what it returns is reported (e.g. what became of open subscriptions). */
  commit: (prepared: S & { hash: string }) => Record<string, unknown>;
  registry: Registry;
  log: Logger;
}

export class SupergraphReloader<S> {
  private served: ServedSupergraph;
  private queue: Promise<unknown> = Promise.resolve();
  private stopWatching: (() => void) | undefined;
  private stopped = false;
  private readonly reloads: Counter<'result'>;
  private readonly options: ReloaderOptions<S>;

  constructor(options: ReloaderOptions<S>) {
    this.options = options;
    this.served = { generation: 1, hash: options.initialHash, loadedAt: new Date() };
    this.reloads = new Counter({
      name: 'gateway_supergraph_reloads_total',
      help: 'Supergraph reloads by result: reloaded, unchanged, refused (not valid: the previous one is still served).',
      labelNames: ['result'],
      registers: [options.registry],
    });
    const served = () => this.served;
    new Gauge({
      name: 'gateway_supergraph_generation',
      help: 'Generation of the supergraph being served (1 at start, one more per reload).',
      registers: [options.registry],
      collect() {
        this.set(served().generation);
      },
    });
  }

  /** The supergraph being served now. */
  get current(): ServedSupergraph {
    return this.served;
  }

  /** Reloads whenever the origin says it may have changed. */
  watch(): void {
    const trigger = this.options.origin.name.startsWith('http') ? 'poll' : 'watch';
    // Changes while a reload runs make one more after it, not one each: a slow origin never piles them up.
    let running = false;
    let again = false;
    const fire = (): void => {
      if (running) return void (again = true);
      running = true;
      void this.reload(trigger).finally(() => {
        running = false;
        if (again && !this.stopped) {
          again = false;
          fire();
        }
      });
    };
    this.stopWatching ??= this.options.origin.watch(fire);
  }

  /** Reads the origin and serves what it has if that is new and valid; waits for any reload in progress first. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const next = this.queue.then(() => this.run(trigger));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Stops watching; a reload in progress changes nothing; resolves once it is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWatching?.();
    this.stopWatching = () => {};
    await this.queue;
  }

  private async run(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { origin, log } = this.options;
    const { generation, hash } = this.served;
    let prepared: S & { hash: string };
    try {
      const text = await origin.read();
      // Nothing to prepare for a supergraph that is the one served (a touched file, an unchanged poll).
      if (text === undefined || this.options.hashOf(text) === hash) return this.count({ status: 'unchanged', generation, hash });
      prepared = await this.options.prepare(text);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log.error({ trigger, origin: origin.name, err }, 'supergraph refused: the one loaded before is still served');
      return this.count({ status: 'refused', generation, hash, error });
    }
    // The gateway stopped while this was read: nothing changes any more.
    if (this.stopped) return this.count({ status: 'unchanged', generation, hash });
    let details: Record<string, unknown>;
    try {
      details = this.options.commit(prepared);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log.error({ trigger, origin: origin.name, err }, 'supergraph refused: the one loaded before is still served');
      return this.count({ status: 'refused', generation, hash, error });
    }
    this.served = { generation: generation + 1, hash: prepared.hash, loadedAt: new Date() };
    log.info({ trigger, origin: origin.name, generation: generation + 1, hash: prepared.hash, ...details }, 'supergraph reloaded');
    return this.count({ status: 'reloaded', generation: generation + 1, hash: prepared.hash, details });
  }

  private count(result: ReloadResult): ReloadResult {
    this.reloads.inc({ result: result.status });
    return result;
  }
}
