/**
 * Starts Interchange processes as children and learns where they listen: each child sends a
 * `listening` message over its IPC channel (lib/lifecycle.ts) per listener, so children can bind
 * port 0 and nothing needs a fixed port. Used by `npm start` and by the tests.
 *
 * A child notices when its supervisor goes away (the IPC channel closes) and stops itself, so even
 * a supervisor killed with SIGKILL leaves nothing running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { LISTENING_EVENT, type ListeningMessage } from './lifecycle.ts';

export const repoRoot = resolve(import.meta.dirname, '..');

export interface ChildSpec<L extends string> {
  /** A short name for messages. */
  name: string;
  /** The TypeScript entry point, relative to the repository root, run by Node (which strips the types). */
  entry: string;
  args?: string[];
  /** Laid over this process's environment; `undefined` removes a variable. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Listener names to wait for (`http`, `grpc`, ...). */
  listeners: readonly L[];
  /** How long to wait for every listener, in ms (default 60 s: a loaded machine starts slowly). */
  startTimeoutMs?: number;
  /** Called with each line the child writes (stdout and stderr). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface Child<L extends string = string> {
  name: string;
  ports: Record<L, number>;
  process: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it) once the child has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. Safe to call repeatedly. */
  stop(graceMs?: number): Promise<number | null>;
  /** Everything the child has written so far (the last 256 KiB). */
  output(): string;
}

/** The child exited before it announced all its listeners (a configuration error exits 2). */
export class ChildExitedError extends Error {
  readonly processName: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly stderr: string;

  constructor(processName: string, code: number | null, signal: NodeJS.Signals | null, output: string, stderr: string) {
    super(`${processName} exited (${signal ?? `code ${code}`}) before it was listening; output:\n${output}`);
    this.processName = processName;
    this.code = code;
    this.signal = signal;
    this.output = output;
    this.stderr = stderr;
    this.name = 'ChildExitedError';
  }
}

const OUTPUT_LIMIT = 256 * 1024;

/**
 * Children still running. Each also stops itself when its IPC channel closes, but that takes a
 * graceful shutdown; a supervisor that exits (or is made to exit by a test runner's timeout) kills
 * them outright on its way out, so none outlives it even for a moment.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** This process's environment with `overrides` laid over it (`undefined` removes), for a child process. */
export function childEnv(overrides: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...overrides };
  // Set by `node --test` for its own workers; a server started from a test is not one.
  delete env['NODE_TEST_CONTEXT'];
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete env[key];
  return env;
}

export function startChild<L extends string>(spec: ChildSpec<L>): Promise<Child<L>> {
  const startTimeoutMs = spec.startTimeoutMs ?? 60_000;
  const child = spawn(process.execPath, [spec.entry, ...(spec.args ?? [])], {
    cwd: repoRoot,
    env: childEnv(spec.env),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  let stderr = '';
  const ports: Partial<Record<L, number>> = {};
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  const stop = async (graceMs = 10_000): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };

  return new Promise<Child<L>>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      void stop(1_000);
      const missing = spec.listeners.filter((l) => !(l in ports));
      reject(new Error(`${spec.name} did not announce ${missing.join(', ')} within ${startTimeoutMs} ms; output:\n${output}`));
    }, startTimeoutMs);
    const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
      output = (output + line + '\n').slice(-OUTPUT_LIMIT);
      if (stream === 'stderr') stderr = (stderr + line + '\n').slice(-OUTPUT_LIMIT);
      spec.onLine?.(line, stream);
    };
    createInterface({ input: child.stdout! }).on('line', onLine('stdout'));
    createInterface({ input: child.stderr! }).on('line', onLine('stderr'));
    child.on('message', (message: Partial<ListeningMessage>) => {
      if (message.event !== LISTENING_EVENT || !message.listener || typeof message.port !== 'number') return;
      ports[message.listener as L] = message.port;
      if (spec.listeners.every((l) => l in ports)) {
        clearTimeout(timer);
        resolvePromise({ name: spec.name, ports: ports as Record<L, number>, process: child, exited, stop, output: () => output });
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name} could not be started: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      if (spec.listeners.every((l) => l in ports)) return;
      clearTimeout(timer);
      // Let the output pipes drain so the error carries the child's last words.
      setImmediate(() => reject(new ChildExitedError(spec.name, code, signal, output, stderr)));
    });
  });
}
