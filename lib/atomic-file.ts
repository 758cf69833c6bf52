/**
 * Writing a file so that readers see either the old content or the whole new one, never a torn
 * mix, even when the process is killed or the machine loses power half-way: the content goes to a
 * temporary file beside the target, is flushed to disk (fsync), renamed over the target, and the
 * rename itself is flushed (fsync of the directory).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with what `write` writes to the handle it is given (creating the directory if
 * needed). If `write` throws, the target is untouched, the temporary file removed, and the error
 * rethrown.
 */
export async function writeFileAtomically(path: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
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
