/**
 * The embedded event log's files: what `MemoryEventLog` keeps on disk when given a directory, so
 * that a process stopped (or killed) and started again finds every record and every consumer
 * group's committed positions.
 *
 * Layout under the directory:
 *   topics/<topic, URI-encoded>/topic.json    `{ "topic": name, "partitions": count }`
 *   topics/<topic, URI-encoded>/<p>.ndjson    partition p, append-only: one record per line,
 *                                             `[key, value, headers, timestamp]`; its offset is its line number from 0
 *   groups.json                               `[{ "groupId", "topic", "committed": { partition: next offset } }]`
 *                                             (groups that committed something only)
 *
 * - Records are appended synchronously before `publish` resolves, all or nothing: a failed write
 *   is cut back off every file the publish touched. They are written to the operating system, not
 *   fsynced each time: a killed process loses nothing, a power cut may lose the newest.
 * - Committed positions are written at most every `groupsFlushMs` and on close (replaced
 *   atomically): after a crash a group may see its newest records again (at-least-once).
 * - A partition file whose last line is incomplete (a write cut short) is truncated to its last
 *   whole record, with a warning; a damaged line before the last one is an error naming the file
 *   and line (nothing is dropped silently).
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../atomic-file.ts';
import type { Logger } from '../logger.ts';

/** A record as stored: its offset is its position in the partition's array. */
export interface StoredRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

export interface StoredGroup {
  groupId: string;
  topic: string;
  committed: Record<number, number>;
}

export interface LoadedLog {
  /** Topic -> partitions -> records in offset order. */
  topics: Map<string, StoredRecord[][]>;
  groups: StoredGroup[];
}

export interface LogFilesOptions {
  dir: string;
  /** Hears of truncated partition files. */
  logger?: Pick<Logger, 'warn'>;
  /** Longest delay before committed positions reach the disk, in ms. @default 200 */
  groupsFlushMs?: number;
  /** The file operations appends go through. @default `fs.writeSync` and `fs.ftruncateSync` */
  io?: AppendIo;
}

/** The file operations an append goes through (a seam: tests make them fail part-way). */
export interface AppendIo {
  /** Writes from `bytes[offset]` on; returns how many bytes were written; throws when none could be. */
  write(fd: number, bytes: Buffer, offset: number): number;
  truncate(fd: number, size: number): void;
}

const SYSTEM_IO: AppendIo = {
  write: (fd, bytes, offset) => writeSync(fd, bytes, offset),
  truncate: (fd, size) => ftruncateSync(fd, size),
};

const READ_CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

export class LogFiles {
  readonly #dir: string;
  readonly #logger: Pick<Logger, 'warn'> | undefined;
  readonly #groupsFlushMs: number;
  readonly #io: AppendIo;
  /** Set when a failed append could not be undone: the files are no longer trusted with appends. */
  #damaged: Error | undefined;
  /** `topic` -> open file descriptors of its partitions. */
  readonly #fds = new Map<string, number[]>();
  #groups: () => StoredGroup[] = () => [];
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: LogFilesOptions) {
    this.#dir = options.dir;
    this.#logger = options.logger;
    this.#groupsFlushMs = options.groupsFlushMs ?? 200;
    this.#io = options.io ?? SYSTEM_IO;
    mkdirSync(join(this.#dir, 'topics'), { recursive: true });
  }

  /** Reads everything on disk (synchronously: once, at start), repairing torn partition tails. */
  load(): LoadedLog {
    const topics = new Map<string, StoredRecord[][]>();
    for (const entry of readdirSync(join(this.#dir, 'topics'), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const topicDir = join(this.#dir, 'topics', entry.name);
      const metaFile = join(topicDir, 'topic.json');
      if (!existsSync(metaFile)) continue; // created but never described: nothing was appended to it
      const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { topic: string; partitions: number };
      if (typeof meta.topic !== 'string' || !Number.isInteger(meta.partitions) || meta.partitions < 1)
        throw new Error(`${metaFile}: not a topic description`);
      const partitions = Array.from({ length: meta.partitions }, (_, p) => this.#readPartition(join(topicDir, `${p}.ndjson`)));
      topics.set(meta.topic, partitions);
      this.#open(meta.topic, meta.partitions);
    }
    const groupsFile = join(this.#dir, 'groups.json');
    const groups = existsSync(groupsFile) ? (JSON.parse(readFileSync(groupsFile, 'utf8')) as StoredGroup[]) : [];
    return { topics, groups };
  }

  /** Describes a new topic on disk and opens its partition files. */
  createTopic(topic: string, partitions: number): void {
    const topicDir = this.#topicDir(topic);
    mkdirSync(topicDir, { recursive: true });
    this.#open(topic, partitions);
    const metaFile = join(topicDir, 'topic.json');
    const temporary = `${metaFile}.tmp`;
    const fd = openSync(temporary, 'w');
    try {
      writeSync(fd, JSON.stringify({ topic, partitions }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // renameSync is atomic: a reader sees no description or the whole one.
    renameSync(temporary, metaFile);
  }

  /**
   * Appends records to partition files (offsets follow the ones already there), all or nothing:
   * when a write fails (ENOSPC, EIO), every file this call touched is cut back to its size before
   * it and the error is rethrown, so no partial line or stray record stays behind. If cutting back
   * fails too, this and every later append throws (restarting repairs a torn last line at `load`).
   */
  append(topic: string, batches: ReadonlyMap<number, StoredRecord[]>): void {
    if (this.#damaged) throw this.#damaged;
    const writes = [...batches].map(([partition, records]) => {
      const fd = this.#fds.get(topic)?.[partition];
      if (fd === undefined) throw new Error(`LogFiles: ${topic}/${partition} is not open`);
      const text = records.map((r) => `${JSON.stringify([r.key, r.value, r.headers, r.timestamp])}\n`).join('');
      return { fd, bytes: Buffer.from(text, 'utf8') };
    });
    const touched: { fd: number; size: number }[] = [];
    try {
      for (const { fd, bytes } of writes) {
        touched.push({ fd, size: fstatSync(fd).size });
        for (let written = 0; written < bytes.length;) written += this.#io.write(fd, bytes, written);
      }
    } catch (err) {
      this.#undo(topic, touched, err);
      throw err;
    }
  }

  /** Cuts files back to their sizes before a failed append. */
  #undo(topic: string, touched: { fd: number; size: number }[], cause: unknown): void {
    for (const { fd, size } of touched) {
      try {
        if (fstatSync(fd).size !== size) this.#io.truncate(fd, size);
      } catch (err) {
        this.#damaged = new Error(
          `embedded event log: a failed append to ${topic} (${String(cause)}) could not be undone (${String(err)}); restart the process`,
          { cause: err },
        );
      }
    }
  }

  /** Says where committed positions come from; they are written soon after `groupsChanged`. */
  trackGroups(groups: () => StoredGroup[]): void {
    this.#groups = groups;
  }

  /** Committed positions changed: schedules writing them. */
  groupsChanged(): void {
    if (this.#closed || this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flushGroups();
    }, this.#groupsFlushMs);
  }

  /** Writes the committed positions, flushes and closes every file (all of them, even when flushing one fails). */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    await this.#flushGroups();
    this.#closed = true;
    // Every file is closed even when flushing one fails; the first failure is rethrown after.
    const failures: unknown[] = [];
    for (const fds of this.#fds.values())
      for (const fd of fds) {
        try {
          fsyncSync(fd);
        } catch (err) {
          failures.push(err);
        } finally {
          closeSync(fd);
        }
      }
    this.#fds.clear();
    if (failures.length > 0) throw failures[0];
  }

  #flushGroups(): Promise<void> {
    const groups = this.#groups();
    this.#flushing = this.#flushing.then(() =>
      writeFileAtomically(join(this.#dir, 'groups.json'), (file) => file.writeFile(JSON.stringify(groups))).catch((err: unknown) =>
        this.#logger?.warn({ err }, 'embedded event log: committed positions could not be written; retried at the next commit'),
      ),
    );
    return this.#flushing;
  }

  #topicDir(topic: string): string {
    return join(this.#dir, 'topics', encodeURIComponent(topic));
  }

  #open(topic: string, partitions: number): void {
    const topicDir = this.#topicDir(topic);
    this.#fds.set(
      topic,
      Array.from({ length: partitions }, (_, p) => openSync(join(topicDir, `${p}.ndjson`), 'a')),
    );
  }

  /** A partition file's records; a torn last line is cut off the file. */
  #readPartition(file: string): StoredRecord[] {
    const records: StoredRecord[] = [];
    if (!existsSync(file)) return records;
    const fd = openSync(file, 'r+');
    try {
      const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      let pending = Buffer.alloc(0);
      let position = 0;
      /** Bytes up to the end of the last whole record. */
      let good = 0;
      let line = 0;
      let damaged: { line: number; error: unknown } | undefined;
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, position);
        if (read === 0) break;
        position += read;
        const data = pending.length > 0 ? Buffer.concat([pending, buffer.subarray(0, read)]) : buffer.subarray(0, read);
        let start = 0;
        for (let end = data.indexOf(NEWLINE, start); end >= 0; end = data.indexOf(NEWLINE, start)) {
          line++;
          if (damaged) throw new Error(`${file}: line ${damaged.line} is damaged (${String(damaged.error)}) and is not the last`);
          try {
            const [key, value, headers, timestamp] = JSON.parse(data.toString('utf8', start, end)) as [
              string,
              string,
              Record<string, string>,
              number,
            ];
            if (typeof key !== 'string' || typeof value !== 'string') throw new Error('not a record');
            records.push({ key, value, headers: headers ?? {}, timestamp });
            good += end + 1 - start;
          } catch (error) {
            damaged = { line, error };
          }
          start = end + 1;
        }
        pending = Buffer.from(data.subarray(start)); // a copy: `buffer` is reused
      }
      if (good < position) {
        this.#logger?.warn(
          { file, bytes: position - good },
          `embedded event log: ${file} ends in an incomplete record (a write cut short); truncated to its ${records.length} whole records`,
        );
        ftruncateSync(fd, good);
      }
    } finally {
      closeSync(fd);
    }
    return records;
  }
}
