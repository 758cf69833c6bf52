/**
 * The gateway's usage record: the operations it has served, each with what it uses of the schema
 * (usage/extract.ts), how often it ran and when it was last seen. Bounded: beyond `maxOperations`
 * the operation seen least recently goes, with one rule for fairness. An operation new to the
 * record is held against the client that brought it (its token's subject; every caller without a
 * token is one client, the anonymous one) until another client runs it too; a client may hold at
 * most `clientShare` of the record that way. A client at its share that brings one more drops its
 * own operation seen least recently, never another's: a flood of distinct operations from one
 * client, or from anonymous callers, churns its own share and cannot push out the operations the
 * rest of the traffic runs. Operations read back from disk belong to no client. Kept on disk so that `interchange check` can say which
 * operations a schema change would break: loaded at start, written every `flushMs` when something
 * changed and once more on a graceful stop, each time whole (a temporary file renamed over the
 * record), so a reader never sees half a record.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomically } from '../../../lib/atomic-file.ts';
import type { Logger } from '../../../lib/logger.ts';
import type { OperationUsage } from './extract.ts';

/** The record as it is written to disk and served at the ops listener's `GET /usage`. */
export const usageFileSchema = z.object({
  version: z.literal(1),
  /** Most recently seen first. */
  operations: z.array(
    z.object({
      hash: z.string().min(1),
      name: z.string().nullable(),
      type: z.enum(['query', 'mutation', 'subscription']),
      fields: z.array(z.string()),
      arguments: z.array(z.string()),
      count: z.number().int().min(1),
      firstSeen: z.iso.datetime(),
      lastSeen: z.iso.datetime(),
    }),
  ),
});

export type UsageFile = z.output<typeof usageFileSchema>;

/** The client every caller without a token is counted as. */
export const ANONYMOUS_CLIENT = 'anonymous';
export type ServedOperation = UsageFile['operations'][number];

export interface UsageRecordOptions {
  /** Where the record lives. */
  file: string;
  /** Operations kept; the least recently seen goes first. */
  maxOperations: number;
  /**
   * The part of `maxOperations` (above 0, at most 1) one client may hold with operations no other
   * client has run; at least one operation.
   */
  clientShare: number;
  /** Time between writes of a changed record, in ms. */
  flushMs: number;
  log: Logger;
  /** The clock (ms since the epoch); tests pass their own. */
  now?: () => number;
}

interface Entry {
  usage: OperationUsage;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** The client it is held against: the one that brought it, until another runs it; none after. */
  client: string | undefined;
}

export class UsageRecord {
  /** By hash, least recently seen first (an entry seen again moves to the end). */
  private readonly entries = new Map<string, Entry>();
  /** The hashes held against each client, least recently seen first. */
  private readonly held = new Map<string, Set<string>>();
  private readonly quota: number;
  private readonly options: UsageRecordOptions;
  private readonly now: () => number;
  private changed = false;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: UsageRecordOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.quota = Math.max(1, Math.floor(options.maxOperations * options.clientShare));
  }

  /** Counts one request of this operation by this client (the anonymous one: `ANONYMOUS_CLIENT`). */
  record(usage: OperationUsage, client: string): void {
    const now = this.now();
    const entry = this.entries.get(usage.hash);
    if (entry) {
      entry.count++;
      entry.lastSeen = now;
      this.entries.delete(usage.hash);
      this.entries.set(usage.hash, entry);
      const holder = entry.client;
      if (holder !== undefined) {
        this.held.get(holder)?.delete(usage.hash);
        // Another client runs it too: it belongs to the traffic now, no longer to one client's share.
        if (holder !== client) entry.client = undefined;
        else this.held.get(holder)?.add(usage.hash);
      }
    } else {
      const own = this.held.get(client) ?? new Set<string>();
      this.held.set(client, own);
      if (own.size >= this.quota) this.drop(own.values().next().value!);
      else if (this.entries.size >= this.options.maxOperations) this.drop(this.entries.keys().next().value!);
      this.entries.set(usage.hash, { usage, count: 1, firstSeen: now, lastSeen: now, client });
      own.add(usage.hash);
    }
    this.changed = true;
  }

  private drop(hash: string): void {
    const client = this.entries.get(hash)?.client;
    this.entries.delete(hash);
    if (client === undefined) return;
    const own = this.held.get(client);
    own?.delete(hash);
    if (own?.size === 0) this.held.delete(client);
  }

  /** The record now, most recently seen first. */
  snapshot(): UsageFile {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      version: 1,
      operations: [...this.entries.values()].reverse().map(({ usage, count, firstSeen, lastSeen }) => ({
        ...usage,
        count,
        firstSeen: iso(firstSeen),
        lastSeen: iso(lastSeen),
      })),
    };
  }

  /**
   * Reads the record a previous run left. None is an empty record; one that cannot be read is
   * logged and replaced by the next write.
   */
  async load(): Promise<void> {
    const { file, log } = this.options;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      log.warn({ err, file }, 'usage record not readable: starting a new one');
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    const parsed = usageFileSchema.safeParse(data);
    if (!parsed.success) {
      log.warn({ file, problem: parsed.error.issues[0]?.message }, 'usage record not valid: starting a new one');
      return;
    }
    // Oldest first, so that the most recently seen end up the most recent; beyond the maximum, the oldest go.
    const operations = [...parsed.data.operations]
      .sort((a, b) => Date.parse(a.lastSeen) - Date.parse(b.lastSeen))
      .slice(-this.options.maxOperations);
    for (const { count, firstSeen, lastSeen, ...usage } of operations) {
      this.entries.delete(usage.hash);
      this.entries.set(usage.hash, { usage, count, firstSeen: Date.parse(firstSeen), lastSeen: Date.parse(lastSeen), client: undefined });
    }
  }

  /** Writes the record now if it changed since the last write; a failed write is logged and tried again next time. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.changed) return;
      this.changed = false;
      const text = `${JSON.stringify(this.snapshot())}\n`;
      try {
        await writeFileAtomically(this.options.file, (handle) => handle.writeFile(text));
      } catch (err) {
        this.changed = true;
        this.options.log.warn({ err, file: this.options.file }, 'usage record not written: trying again at the next flush');
      }
    });
    return this.writing;
  }

  /** Writes the record every `flushMs` while it changes. */
  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.flushMs).unref();
  }

  /** Stops the periodic writes and writes what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
