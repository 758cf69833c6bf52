/** Runs the `interchange` command-line tool as users do (`npx interchange` runs scripts/interchange.ts), with a deadline. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../lib/supervisor.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node scripts/interchange.ts ARGS` in `cwd`; resolves with its exit code and output, whatever they are. */
export const interchange = (args: string[], cwd = repoRoot): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'scripts/interchange.ts'), ...args],
      { cwd, timeout: 60_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
