/**
 * Writing a file so that readers see either the old content or the whole new one, never a torn
 * mix, even when the process is killed or the machine loses power half-way: the content goes to a
 * temporary file beside the target, is flushed to disk (fsync), renamed over the target, and the
 * rename itself is flushed (fsync of the directory).
 *
 * A process killed during a write leaves its temporary file behind (`.<name>.<8 hex>.tmp`); the
 * first write to a target in a process removes those left next to it, so repeated kills do not
 * fill the directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Replaces `path` with what `write` writes to the handle it is given (creating the directory if
 * needed). If `write` throws, the target is untouched, the temporary file removed, and the error
 * rethrown. The first call for a `path` in a process first removes temporary files of `path` that
 * earlier processes left (so one target must not be written by two processes at once).
 */
export async function writeFileAtomically(path: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  await removeLeftovers(path);
  const temporary = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const file = await open(temporary, 'wx');
  try {
    await write(file);
    await file.sync();
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw err;
  }
  await file.close();
  try {
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

/** Targets whose leftovers this process removed (or is removing), by path. */
const cleaned = new Map<string, Promise<void>>();

/**
 * Removes the temporary files of `path` left by a killed process, once per process: every write
 * waits for it before creating its own temporary file, so it never removes one of this process's.
 * Best effort: a leftover that cannot be removed is left.
 */
function removeLeftovers(path: string): Promise<void> {
  const key = resolve(path);
  let cleaning = cleaned.get(key);
  if (!cleaning) {
    const dir = dirname(path);
    const name = basename(path);
    const isLeftover = (entry: string) =>
      entry.length === name.length + 14 && entry.startsWith(`.${name}.`) && /^\.[0-9a-f]{8}\.tmp$/.test(entry.slice(name.length + 1));
    cleaning = readdir(dir)
      .then((entries) => Promise.all(entries.filter(isLeftover).map((entry) => rm(join(dir, entry), { force: true }))))
      .then(
        () => undefined,
        () => undefined,
      );
    cleaned.set(key, cleaning);
  }
  return cleaning;
}

/** Flushes a directory's entries (a rename) to disk; best effort where the platform refuses. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `text`, whole: a reader (a watcher, say) sees the old file or the new one, never half of it. */
export function writeTextAtomically(path: string, text: string): Promise<void> {
  return writeFileAtomically(path, async (file) => {
    await file.writeFile(text);
  });
}
