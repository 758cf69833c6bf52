/**
 * Watches the registry of subgraphs and the SDL files it names, for `npm start`'s development loop:
 * a change (an entry added, an SDL edited) calls `changed` once things settle. The files watched
 * follow the registry as it changes.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { SubgraphRegistry } from './registry.ts';

/**
 * The processes `previous` has and `next` no longer does (a subgraph or a service removed, or
 * renamed), in the order they are stopped: the reverse of the start order, subgraphs before the
 * services they may call.
 */
export function removedProcesses(previous: SubgraphRegistry, next: SubgraphRegistry): string[] {
  const kept = new Set(next.processes.map((p) => p.name));
  return previous.processes
    .map((p) => p.name)
    .filter((name) => !kept.has(name))
    .reverse();
}

export interface RegistryWatch {
  /** Watch these files from now on (the registry and the SDLs it names now). */
  follow(files: string[]): void;
  stop(): void;
}

export function watchFiles(changed: () => void, settleMs = 300): RegistryWatch {
  const watchers = new Map<string, FSWatcher>();
  let names = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const touched = (dir: string, file: string | null) => {
    if (file !== null && !names.has(`${dir}/${file}`)) return;
    clearTimeout(timer);
    timer = setTimeout(changed, settleMs);
  };
  return {
    follow(files) {
      names = new Set(files.map((f) => `${dirname(f)}/${basename(f)}`));
      const dirs = new Set(files.map((f) => dirname(f)));
      for (const [dir, watcher] of watchers) {
        if (dirs.has(dir)) continue;
        watcher.close();
        watchers.delete(dir);
      }
      for (const dir of dirs) {
        if (watchers.has(dir)) continue;
        try {
          const watcher = watch(dir, { persistent: false }, (_event, file) => touched(dir, file));
          watcher.on('error', () => watcher.close());
          watchers.set(dir, watcher);
        } catch {
          // A folder that does not exist (yet): the registry names a file that is not there, which composing reports.
        }
      }
    },
    stop() {
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
