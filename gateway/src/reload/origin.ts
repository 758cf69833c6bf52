/**
 * Where the gateway's supergraph comes from, and how it learns that it changed: a file it watches,
 * or a URL it polls with `If-None-Match` (an unchanged supergraph costs a 304).
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../../lib/logger.ts';

export interface SupergraphOrigin {
  /** Names it in messages: the file's path or the URL. */
  readonly name: string;
  /** The supergraph's text now; `undefined` when a URL answered that it has not changed since the last read. */
  read(): Promise<string | undefined>;
  /** Calls `changed` when the supergraph may have changed; returns the function that stops watching. */
  watch(changed: () => void): () => void;
}

/** A supergraph file. Editors and `interchange compose` replace or rewrite it: the folder is watched, and changes settle for `settleMs`. */
export function fileOrigin(path: string, log: Logger, settleMs = 150): SupergraphOrigin {
  return {
    name: path,
    read: async () => {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        throw new Error(`cannot read the supergraph file ${path} (SUPERGRAPH): ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
          cause: err,
        });
      }
    },
    watch: (changed) => {
      let timer: NodeJS.Timeout | undefined;
      let watcher: FSWatcher | undefined;
      try {
        watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
          if (file !== null && file !== basename(path)) return;
          clearTimeout(timer);
          timer = setTimeout(changed, settleMs);
        });
        watcher.on('error', (err) =>
          log.warn({ err, path }, 'cannot watch the supergraph file; reload it with POST /reload on the ops listener'),
        );
      } catch (err) {
        log.warn({ err, path }, 'cannot watch the supergraph file; reload it with POST /reload on the ops listener');
      }
      return () => {
        clearTimeout(timer);
        watcher?.close();
      };
    },
  };
}

/** A supergraph served over HTTP(S), polled every `pollMs` with the ETag of the last answer. */
export function urlOrigin(url: string, pollMs: number, timeoutMs: number): SupergraphOrigin {
  let etag: string | undefined;
  return {
    name: url,
    read: async () => {
      let response: Response;
      try {
        response = await fetch(url, { headers: etag ? { 'if-none-match': etag } : {}, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        throw new Error(`cannot fetch the supergraph from ${url} (SUPERGRAPH_URL): ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
      if (response.status === 304) return undefined;
      if (!response.ok) throw new Error(`cannot fetch the supergraph from ${url} (SUPERGRAPH_URL): HTTP ${response.status}`);
      const text = await response.text();
      etag = response.headers.get('etag') ?? undefined;
      return text;
    },
    watch: (changed) => {
      const timer = setInterval(changed, pollMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
