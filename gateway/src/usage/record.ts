/**
 * The gateway's usage record: the operations it has served, each with what it uses of the schema
 * (usage/extract.ts), how often it ran and when it was last seen. Bounded: beyond `maxOperations`
 * the operation seen least recently goes. Kept on disk so that `interchange check` can say which
 * operations a schema change would break: loaded at start, written every `flushMs` when something
 * changed and once more on a graceful stop, each time whole (a temporary file renamed over the
 * record), so a reader never sees half a record.
 */
import { readFile } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
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
export type ServedOperation = UsageFile['operations'][number];

export interface UsageRecordOptions {
  /** Where the record lives. */
  file: string;
  /** Operations kept; the least recently seen goes first. */
  maxOperations: number;
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
}

export class UsageRecord {
  private readonly entries: LRUCache<string, Entry>;
  private readonly options: UsageRecordOptions;
  private readonly now: () => number;
  private changed = false;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: UsageRecordOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.entries = new LRUCache({ max: options.maxOperations });
  }

  /** Counts one request of this operation. */
  record(usage: OperationUsage): void {
    const now = this.now();
    const entry = this.entries.get(usage.hash);
    if (entry) {
      entry.count++;
      entry.lastSeen = now;
    } else {
      this.entries.set(usage.hash, { usage, count: 1, firstSeen: now, lastSeen: now });
    }
    this.changed = true;
  }

  /** The record now, most recently seen first. */
  snapshot(): UsageFile {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      version: 1,
      operations: [...this.entries.values()].map(({ usage, count, firstSeen, lastSeen }) => ({
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
    // Oldest first, so that the most recently seen end up the most recent in the cache.
    const operations = [...parsed.data.operations].sort((a, b) => Date.parse(a.lastSeen) - Date.parse(b.lastSeen));
    for (const { count, firstSeen, lastSeen, ...usage } of operations) {
      this.entries.set(usage.hash, { usage, count, firstSeen: Date.parse(firstSeen), lastSeen: Date.parse(lastSeen) });
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
