/**
 * Structured JSON logs (pino) on stdout, one line per event. Every process names itself, so lines
 * from the whole system can be merged and filtered by `name`.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(name: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ name, level, base: { name }, timestamp: pino.stdTimeFunctions.isoTime });
}
