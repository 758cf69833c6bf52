/**
 * `node test/support/group-leader.ts COMMAND [ARG ...]`: runs COMMAND in this process's group and
 * exits with its exit code. Started detached (a process group of its own) with an IPC channel by
 * test/run.ts: when that parent goes away, even killed outright so that it could not clean up, the
 * channel closes and this process kills its whole group, so nothing a test run started outlives it.
 */
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (!command || !process.send) {
  process.stderr.write('usage: started by test/run.ts with an IPC channel: group-leader.ts COMMAND [ARG ...]\n');
  process.exit(2);
}

const child = spawn(command, args, { stdio: 'inherit' });
process.once('disconnect', () => process.kill(-process.pid, 'SIGKILL'));
// The group's signals (the run's deadline, Ctrl-C) reach the child directly; this one only waits.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
