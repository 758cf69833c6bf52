/** Temporary DATA_DIRs for the processes a test starts: never the project's own `.data/`. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Creates an empty directory, removed (with its content) when `scope` ends. */
export async function temporaryDataDir(scope: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'interchange-data-'));
  scope.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
