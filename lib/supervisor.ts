/**
 * Starts Interchange processes as children and learns where they listen: each child sends a
 * `listening` message over its IPC channel (lib/lifecycle.ts) per listener, so children can bind
 * port 0 and nothing needs a fixed port. Used by `npm start` and by the integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LISTENING_EVENT, type ListeningMessage } from './lifecycle.ts';

export interface ChildSpec {
  /** A short name for messages. */
  name: string;
  /** The TypeScript entry point, run with tsx. */
  entry: string;
  args?: string[];
  env?: Record<string, string>;
  /** Listener names to wait for (`http`, `grpc`, ...). */
  listeners: string[];
  /** How long to wait for every listener, in ms. */
  startTimeoutMs?: number;
  /** Called with each line the child writes (stdout and stderr). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  cwd?: string;
}

export interface Child {
  name: string;
  ports: Record<string, number>;
  process: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the child has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** Everything the child has written so far (the last 256 KiB). */
  output(): string;
}

const OUTPUT_LIMIT = 256 * 1024;

export function startChild(spec: ChildSpec): Promise<Child> {
  // An IPC channel lets the child notice when this process goes away (lib/lifecycle.ts stops it).
  const child = spawn(process.execPath, ['--import', 'tsx', spec.entry, ...(spec.args ?? [])], {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const ports: Record<string, number> = {};
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async (graceMs = 10_000): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    }
    return exited;
  };

  return new Promise<Child>((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      void stop(1_000);
      reject(new Error(`${spec.name} did not start: ${reason}\n--- output of ${spec.name} ---\n${output}`));
    };
    const timer = setTimeout(() => fail(`no listening event within ${spec.startTimeoutMs ?? 20_000} ms`), spec.startTimeoutMs ?? 20_000);
    const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
      output = (output + line + '\n').slice(-OUTPUT_LIMIT);
      spec.onLine?.(line, stream);
    };
    child.on('message', (message: Partial<ListeningMessage>) => {
      if (message.event !== LISTENING_EVENT || !message.listener || typeof message.port !== 'number') return;
      ports[message.listener] = message.port;
      if (spec.listeners.every((l) => l in ports)) {
        clearTimeout(timer);
        resolve({ name: spec.name, ports, process: child, exited, stop, output: () => output });
      }
    });
    createInterface({ input: child.stdout! }).on('line', onLine('stdout'));
    createInterface({ input: child.stderr! }).on('line', onLine('stderr'));
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => {
      if (!spec.listeners.every((l) => l in ports)) fail(`exited early (code ${code}, signal ${signal})`);
    });
  });
}
