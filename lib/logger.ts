/**
 * Structured JSON logs (pino) on stdout, one line per event. Every process names itself, so lines
 * from the whole system can be merged and filtered by `name`.
 *
 * Logs go through `process.stdout` (synchronous for pipes and files on Linux), not pino's own
 * sonic-boom destination: when a supervisor dies, a child's stdout breaks (EPIPE), and sonic-boom's
 * flush on exit retries a broken pipe forever, so the child could never exit. A broken stdout is
 * ignored instead: there is nobody left to read it.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

let guarded = false;

export function createLogger(name: string, level: LevelWithSilent = 'info'): Logger {
  if (!guarded) {
    guarded = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  return pino({ name, level, base: { name }, timestamp: pino.stdTimeFunctions.isoTime }, process.stdout);
}
